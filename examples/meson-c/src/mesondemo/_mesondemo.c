#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <zlib.h>

static PyObject *crc(PyObject *self, PyObject *args) {
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "y*", &buf)) return NULL;
    unsigned long value = crc32(0L, (const Bytef *)buf.buf, (uInt)buf.len);
    PyBuffer_Release(&buf);
    return PyLong_FromUnsignedLong(value);
}

static PyMethodDef methods[] = {{"crc32", crc, METH_VARARGS, "zlib's crc32."}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_mesondemo", NULL, -1, methods};
PyMODINIT_FUNC PyInit__mesondemo(void) { return PyModule_Create(&module); }
