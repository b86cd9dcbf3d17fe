#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <zlib.h>

#include "demo.h"

static PyObject *compressed_size(PyObject *self, PyObject *args) {
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "y*", &buf)) return NULL;
    long n = demo_compressed_size(buf.buf, (size_t)buf.len);
    PyBuffer_Release(&buf);
    if (n < 0) return PyErr_NoMemory();
    return PyLong_FromLong(n);
}

static PyObject *greeting(PyObject *self, PyObject *unused) {
    /* zlibVersion() makes the extension itself need libz.so.1 too. */
    return PyUnicode_FromFormat("%s (zlib %s)", demo_greeting(), zlibVersion());
}

static PyMethodDef methods[] = {
    {"compressed_size", compressed_size, METH_VARARGS, "Deflated size of a bytes object."},
    {"greeting", greeting, METH_NOARGS, "A greeting from libdemo."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_demo", NULL, -1, methods};

PyMODINIT_FUNC PyInit__demo(void) { return PyModule_Create(&module); }
