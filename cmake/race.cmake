# cmake/race.cmake — tests/race under ThreadSanitizer as a ctest entry.
#
# The library's CPU sources are built a second time with -fsanitize=thread
# (nn_tsan: no OpenCL, as with src/opencl_none.c) and linked into each
# tests/race program; ctest runs them with one OpenMP thread (libgomp is not
# instrumented: its threads would only bring false reports) and TSan ending
# the program with status 66 at its first report. Criterion cannot run under
# TSan (Criterion issue #274), so these are plain programs. Where the
# compiler cannot link -fsanitize=thread, or such a program does not start,
# the entries report themselves skipped (exit 77), never passed.
option(NN_RACE "Build and run tests/race under ThreadSanitizer" ON)
set(NN_RACE_PROGRAMS row_flight_race)

set(NN_RACE_REASON "")
if(NOT NN_RACE)
  set(NN_RACE_REASON "NN_RACE is OFF")
else()
  nn_probe_build(race_probe ${CMAKE_C_COMPILER} "-fsanitize=thread" "int main(void) { return 0; }\n")
  if(NOT race_probe)
    set(NN_RACE_REASON "${CMAKE_C_COMPILER} cannot link -fsanitize=thread (libtsan missing)")
  else() # TSan programs fail at start on some kernels (e.g. a high vm.mmap_rnd_bits)
    execute_process(COMMAND ${race_probe} RESULT_VARIABLE run_rc OUTPUT_QUIET ERROR_QUIET)
    if(NOT run_rc EQUAL 0)
      set(NN_RACE_REASON "a -fsanitize=thread program does not start on this system")
    endif()
  endif()
endif()

if(NN_RACE_REASON STREQUAL "")
  message(STATUS "Race checks: tests/race under ThreadSanitizer")
  add_library(nn_tsan STATIC ${NN_CORE_SOURCES})
  target_include_directories(nn_tsan PUBLIC ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/src)
  target_compile_definitions(nn_tsan PRIVATE _GNU_SOURCE NN_VERSION="${PROJECT_VERSION}")
  target_compile_options(nn_tsan PUBLIC -fsanitize=thread -g -O1)
  # gcc's truncation analysis at -O1 flags snprintf calls that bound their
  # messages on purpose (the -O3 build does not); -Werror must not stop here
  target_compile_options(nn_tsan PRIVATE -Wno-format-truncation)
  target_link_options(nn_tsan PUBLIC -fsanitize=thread)
  target_link_libraries(nn_tsan PUBLIC OpenMP::OpenMP_C Threads::Threads m)
  foreach(p ${NN_RACE_PROGRAMS})
    add_executable(${p} ${CMAKE_SOURCE_DIR}/tests/race/${p}.c)
    target_link_libraries(${p} PRIVATE nn_tsan)
    target_compile_definitions(${p} PRIVATE _GNU_SOURCE)
    target_include_directories(${p} PRIVATE ${CMAKE_SOURCE_DIR}/tests/support)
    add_test(NAME ${p} COMMAND ${p})
    set_tests_properties(${p} PROPERTIES TIMEOUT 300
      ENVIRONMENT "OMP_NUM_THREADS=1;TSAN_OPTIONS=halt_on_error=1 exitcode=66")
  endforeach()
else()
  message(STATUS "Race checks skipped: ${NN_RACE_REASON}")
  nn_add_skipped_tests("${NN_RACE_REASON}" ${NN_RACE_PROGRAMS})
endif()
