/* A module on the Stable ABI: only limited-API calls, so one build serves CPython >= 3.11. */
#include <Python.h>

static PyObject *answer(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    return PyLong_FromLong(42);
}

static PyMethodDef methods[] = {
    {"answer", answer, METH_NOARGS, "The answer."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "limited", NULL, -1, methods};

PyMODINIT_FUNC PyInit_limited(void) { return PyModule_Create(&module); }
