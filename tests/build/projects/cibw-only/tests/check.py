"""cibuildwheel's test-command runs this from outside the project, with test-requires."""

import cibwonly
import six

assert cibwonly.answer() == 42, cibwonly.answer()
assert cibwonly.generated() == 7
assert cibwonly.flavour() == "built-by-manywheel-tests", cibwonly.flavour()
print("cibwonly", cibwonly.answer(), cibwonly.flavour(), "six", six.__version__)
