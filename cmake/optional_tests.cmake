# cmake/optional_tests.cmake — ctest entries that need a tool this machine
# may lack (a sanitizer runtime, clang's libFuzzer): probe for it, and where
# it is missing report the entries skipped with the reason, never passed.

# nn_probe_build(OUT COMPILER FLAGS SOURCE): OUT = the path of an executable
# COMPILER built from the C text SOURCE with FLAGS (a list), or "" when the
# build failed.
function(nn_probe_build out compiler flags source)
  set(dir ${CMAKE_BINARY_DIR}/probe_${out})
  file(MAKE_DIRECTORY ${dir})
  file(WRITE ${dir}/probe.c "${source}")
  execute_process(COMMAND ${compiler} ${flags} ${dir}/probe.c -o ${dir}/probe
                  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  if(rc EQUAL 0)
    set(${out} ${dir}/probe PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()

# nn_add_skipped_tests(REASON NAME...): one entry per NAME that prints
# "NAME skipped: REASON" and exits 77 (ctest's SKIP_RETURN_CODE).
function(nn_add_skipped_tests reason)
  foreach(t ${ARGN})
    add_test(NAME ${t} COMMAND sh -c "echo '${t} skipped: ${reason}'; exit 77")
    set_tests_properties(${t} PROPERTIES SKIP_RETURN_CODE 77)
  endforeach()
endfunction()
