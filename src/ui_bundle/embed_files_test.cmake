# Tests embed_files.cmake as the build runs it (ctest ui_bundle_embed_script):
#   cmake -DSCRIPT=<embed_files.cmake> -DWORK=<scratch folder> -P embed_files_test.cmake
# The generated source names each file with its size, escapes and ETag; an
# unchanged folder leaves the output untouched; a change rewrites it; a
# missing folder gives an empty bundle; bad names and arguments fail clearly.

cmake_minimum_required(VERSION 3.25)

function(expect condition_text)
  if(NOT (${ARGN}))
    message(FATAL_ERROR "FAILED: ${condition_text}")
  endif()
endfunction()

function(run_embed dir out result_var error_var)
  execute_process(
    COMMAND ${CMAKE_COMMAND} -DINPUT_DIR=${dir} -DOUTPUT=${out} ${ARGN} -P ${SCRIPT}
    RESULT_VARIABLE result ERROR_VARIABLE error OUTPUT_QUIET)
  set(${result_var} "${result}" PARENT_SCOPE)
  string(REGEX REPLACE "[ \n]+" " " error "${error}")  # CMake wraps and spaces messages
  set(${error_var} "${error}" PARENT_SCOPE)
endfunction()

set(ns -DNAMESPACE=test::ns -DFUNCTION=Files)
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/in/assets")
file(WRITE "${WORK}/in/index.html" "a")
file(WRITE "${WORK}/in/assets/x-1.js" "b\"\\")  # b " backslash
set(out "${WORK}/out.cc")

# First run: every file, sorted, with its size, bytes and ETag.
run_embed("${WORK}/in" "${out}" result error ${ns})
expect("first run succeeds: ${error}" result EQUAL 0)
file(READ "${out}" text)
string(SHA256 etag_b "b\"\\")
string(SUBSTRING "${etag_b}" 0 20 etag_b)
string(FIND "${text}" "{\"assets/x-1.js\", std::string_view(kData0, 3), \"\\\"${etag_b}\\\"\"}" at_x)
string(FIND "${text}" "{\"index.html\", std::string_view(kData1, 1)," at_index)
string(FIND "${text}" "\"\\x62\\x22\\x5c\"" at_bytes)
string(FIND "${text}" "namespace test::ns {" at_ns)
string(FIND "${text}" "const ::cairn::ui_bundle::Bundle& Files()" at_fn)
expect("entry for assets/x-1.js with its ETag:\n${text}" at_x GREATER -1)
expect("entry for index.html after assets/:\n${text}" at_index GREATER at_x)
expect("bytes as escapes:\n${text}" at_bytes GREATER -1)
expect("namespace and function" at_ns GREATER -1 AND at_fn GREATER at_ns)

# Lines of 32 bytes: a 70-byte file is 3 lines of escapes.
string(REPEAT "z" 70 long)
file(WRITE "${WORK}/in/assets/long.txt" "${long}")
run_embed("${WORK}/in" "${out}" result error ${ns})
file(READ "${out}" text)
string(REPEAT "\\x7a" 32 line32)
string(REPEAT "\\x7a" 6 line6)
string(FIND "${text}" "\"${line32}\"\n    \"${line32}\"\n    \"${line6}\";" at_lines)
expect("70 bytes split 32/32/6:\n${text}" at_lines GREATER -1)

# Unchanged inputs: the output is not rewritten (our marker survives).
file(APPEND "${out}" "// marker\n")
run_embed("${WORK}/in" "${out}" result error ${ns})
expect("second run succeeds" result EQUAL 0)
file(READ "${out}" text)
string(FIND "${text}" "// marker" at_marker)
expect("unchanged inputs leave the output alone" at_marker GREATER -1)

# A changed file, an added file, a removed file: rewritten.
foreach(change modify add remove function)
  if(change STREQUAL "modify")
    file(WRITE "${WORK}/in/index.html" "c")
  elseif(change STREQUAL "add")
    file(WRITE "${WORK}/in/favicon.svg" "<svg/>")
  elseif(change STREQUAL "remove")
    file(REMOVE "${WORK}/in/assets/long.txt")
  else()
    set(ns -DNAMESPACE=test::ns -DFUNCTION=Other)
  endif()
  run_embed("${WORK}/in" "${out}" result error ${ns})
  expect("run after ${change} succeeds: ${error}" result EQUAL 0)
  file(READ "${out}" text)
  string(FIND "${text}" "// marker" at_marker)
  expect("${change} rewrites the output" at_marker EQUAL -1)
  file(APPEND "${out}" "// marker\n")
endforeach()
file(READ "${out}" text)
string(FIND "${text}" "{\"index.html\", std::string_view(kData2, 1)," at_index)
string(FIND "${text}" "long.txt" at_long)
string(FIND "${text}" "{\"favicon.svg\"," at_favicon)
expect("final output has index.html (3rd), favicon, no long.txt:\n${text}"
       at_index GREATER -1 AND at_favicon GREATER -1 AND at_long EQUAL -1)
string(FIND "${text}" "\"\\x63\";" at_c)
expect("index.html holds c" at_c GREATER -1)

# A missing folder: an empty bundle, and a later folder is picked up.
run_embed("${WORK}/missing" "${WORK}/empty.cc" result error ${ns})
expect("missing folder succeeds: ${error}" result EQUAL 0)
file(READ "${WORK}/empty.cc" text)
string(FIND "${text}" "static constexpr ::cairn::ui_bundle::Bundle kBundle;" at_empty)
string(FIND "${text}" "kFiles" at_files)
expect("missing folder gives an empty bundle:\n${text}" at_empty GREATER -1 AND at_files EQUAL -1)
file(MAKE_DIRECTORY "${WORK}/missing")
file(WRITE "${WORK}/missing/index.html" "x")
run_embed("${WORK}/missing" "${WORK}/empty.cc" result error ${ns})
file(READ "${WORK}/empty.cc" text)
string(FIND "${text}" "{\"index.html\", std::string_view(kData0, 1)," at_index)
expect("a folder created later is embedded" at_index GREATER -1)

# Bad names and arguments fail with a message naming the problem.
file(WRITE "${WORK}/in/assets/a b.js" "x")
run_embed("${WORK}/in" "${out}" result error ${ns})
expect("a name with a space fails" NOT result EQUAL 0)
string(FIND "${error}" "cannot embed '${WORK}/in/assets/a b.js'" at_error)
expect("the error names the file: ${error}" at_error GREATER -1)
file(REMOVE "${WORK}/in/assets/a b.js")
run_embed("${WORK}/in" "${out}" result error -DNAMESPACE=test::ns)
string(FIND "${error}" "-DFUNCTION=... is required" at_error)
expect("FUNCTION is required: ${error}" NOT result EQUAL 0 AND at_error GREATER -1)
run_embed("${WORK}/in" "${out}" result error -DNAMESPACE=test:ns -DFUNCTION=F)
string(FIND "${error}" "'test:ns' is not a C++ namespace" at_error)
expect("a bad namespace fails: ${error}" NOT result EQUAL 0 AND at_error GREATER -1)

message(STATUS "embed_files.cmake: all checks passed")
