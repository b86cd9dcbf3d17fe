#!/bin/sh
# cibuildwheel's before-all: generate a header the extension includes.
set -eu
printf '#define GENERATED_BY_BEFORE_ALL 7\n' > src/cibwonly/generated.h
