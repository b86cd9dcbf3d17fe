// A C++ extension through the C API: std::vector, std::sort, std::string and exceptions.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

static std::string joined_sorted(std::vector<std::string> words) {
    if (words.empty()) throw std::runtime_error("no words");
    std::sort(words.begin(), words.end());
    std::string out;
    for (const auto &w : words) out += (out.empty() ? "" : " ") + w;
    return out;
}

static PyObject *sort_words(PyObject *, PyObject *args) {
    PyObject *list;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &list)) return nullptr;
    std::vector<std::string> words;
    for (Py_ssize_t i = 0; i < PyList_Size(list); ++i) {
        const char *s = PyUnicode_AsUTF8(PyList_GetItem(list, i));
        if (!s) return nullptr;
        words.emplace_back(s);
    }
    try {
        return PyUnicode_FromString(joined_sorted(words).c_str());
    } catch (const std::exception &e) {
        PyErr_SetString(PyExc_ValueError, e.what());
        return nullptr;
    }
}

static PyMethodDef methods[] = {{"sort_words", sort_words, METH_VARARGS, "Sorted, joined."},
                                {nullptr, nullptr, 0, nullptr}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "cmakedemo", nullptr, -1, methods};
PyMODINIT_FUNC PyInit_cmakedemo(void) { return PyModule_Create(&module); }
