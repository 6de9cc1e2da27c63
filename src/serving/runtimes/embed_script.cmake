# Turns the Python worker script into a C++ translation unit:
#   namespace cairn::serving { extern const char kPythonWorkerScript[]; }
file(READ "${IN}" CONTENT)
set(DELIM "cairn_py_worker")
file(WRITE "${OUT}.tmp"
  "// Generated from python_worker.py by embed_script.cmake; do not edit.\n"
  "namespace cairn::serving {\n"
  "extern const char kPythonWorkerScript[];\n"
  "const char kPythonWorkerScript[] = R\"${DELIM}(${CONTENT})${DELIM}\";\n"
  "}  // namespace cairn::serving\n")
file(RENAME "${OUT}.tmp" "${OUT}")
