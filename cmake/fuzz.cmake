# cmake/fuzz.cmake — libFuzzer harnesses (tests/fuzz) as ctest entries.
#
# When a clang that can link -fsanitize=fuzzer,address,undefined is found,
# tests/fuzz is built as a second CMake project with that clang (the main
# build may use gcc) and ctest runs each harness for NN_FUZZ_SECONDS, failing
# on any finding. Without such a clang the same ctest entries report
# themselves skipped (exit 77), never passed.
option(NN_FUZZ "Build and run the libFuzzer harnesses when clang is available" ON)
set(NN_FUZZ_SECONDS 60 CACHE STRING "Seconds each fuzz harness runs under ctest")
set(NN_FUZZ_HARNESSES fuzz_model fuzz_csv)

set(NN_FUZZ_REASON "")
if(NOT NN_FUZZ)
  set(NN_FUZZ_REASON "NN_FUZZ is OFF")
else()
  find_program(NN_CLANG NAMES clang clang-16 clang-15 clang-14)
  if(NOT NN_CLANG)
    set(NN_FUZZ_REASON "clang not found (apt-get install clang)")
  else()
    # Probe: can this clang build and link a fuzzer with the sanitizers?
    nn_probe_build(fuzz_probe ${NN_CLANG} "-fsanitize=fuzzer,address,undefined"
      "#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n")
    if(NOT fuzz_probe)
      set(NN_FUZZ_REASON "${NN_CLANG} cannot link -fsanitize=fuzzer (libFuzzer runtime missing)")
    endif()
  endif()
endif()

if(NN_FUZZ_REASON STREQUAL "")
  message(STATUS "Fuzzing: ${NN_CLANG}, ${NN_FUZZ_SECONDS} s per harness under ctest")
  include(ExternalProject)
  ExternalProject_Add(nn_fuzz
    SOURCE_DIR ${CMAKE_SOURCE_DIR}/tests/fuzz
    BINARY_DIR ${CMAKE_BINARY_DIR}/fuzz
    CMAKE_ARGS -DCMAKE_C_COMPILER=${NN_CLANG} -DCMAKE_BUILD_TYPE=RelWithDebInfo
               -DNN_SOURCE_DIR=${CMAKE_SOURCE_DIR} -DNN_VERSION=${PROJECT_VERSION}
               -DNN_WERROR=${NN_WERROR}
    INSTALL_COMMAND ""
    BUILD_ALWAYS ON)
  foreach(h ${NN_FUZZ_HARNESSES})
    string(REPLACE "fuzz_" "" kind ${h})
    set(dict "")
    if(EXISTS ${CMAKE_SOURCE_DIR}/tests/fuzz/${kind}.dict)
      set(dict ${CMAKE_SOURCE_DIR}/tests/fuzz/${kind}.dict)
    endif()
    add_test(NAME ${h}
      COMMAND sh ${CMAKE_SOURCE_DIR}/tests/fuzz/run.sh ${CMAKE_BINARY_DIR}/fuzz/${h}
              ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${kind} ${CMAKE_BINARY_DIR}/fuzz/run_${h}
              ${NN_FUZZ_SECONDS} ${dict})
    math(EXPR fuzz_timeout "${NN_FUZZ_SECONDS} + 120")
    set_tests_properties(${h} PROPERTIES TIMEOUT ${fuzz_timeout})
  endforeach()
else()
  message(STATUS "Fuzzing skipped: ${NN_FUZZ_REASON}")
  nn_add_skipped_tests("${NN_FUZZ_REASON}" ${NN_FUZZ_HARNESSES})
endif()
