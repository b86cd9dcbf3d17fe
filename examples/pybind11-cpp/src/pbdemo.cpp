// C++ that needs the C++ runtime: std::string, std::map, exceptions across the boundary.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace py = pybind11;

std::map<std::string, int> word_counts(const std::vector<std::string> &words) {
    std::map<std::string, int> counts;
    for (const auto &w : words) counts[w] += 1;
    return counts;
}

int checked_div(int a, int b) {
    if (b == 0) throw std::invalid_argument("division by zero");
    return a / b;
}

// Safe without the GIL (it keeps no shared state): free-threaded builds keep it off.
PYBIND11_MODULE(pbdemo, m, py::mod_gil_not_used()) {
    m.def("word_counts", &word_counts);
    m.def("checked_div", &checked_div);
}
