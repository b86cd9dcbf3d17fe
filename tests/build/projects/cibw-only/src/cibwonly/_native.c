#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "generated.h"

static PyObject *answer(PyObject *self, PyObject *args) { return PyLong_FromLong(ANSWER); }
static PyObject *generated(PyObject *self, PyObject *args) {
    return PyLong_FromLong(GENERATED_BY_BEFORE_ALL);
}
static PyObject *flavour(PyObject *self, PyObject *args) { return PyUnicode_FromString(FLAVOUR); }

static PyMethodDef methods[] = {
    {"answer", answer, METH_NOARGS, NULL},
    {"generated", generated, METH_NOARGS, NULL},
    {"flavour", flavour, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native", NULL, -1, methods};
PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
