# bench_peers.cmake — optional peers that `nnbench gemm` compares against:
# OpenBLAS (cblas_sgemm) and CLBlast (sgemm on an OpenCL device). Benchmark-only:
# CLBlast is linked into the nnbench executable when found (NNBENCH_HAVE_CLBLAST),
# OpenBLAS is opened at run time; neither ever reaches the nn library.

option(NNBENCH_PEERS "Let nnbench gemm compare with OpenBLAS and CLBlast when found" ON)

if(NNBENCH_PEERS)
  find_package(PkgConfig QUIET)

  # ---- OpenBLAS: loaded with dlopen by `nnbench gemm` itself (bench/peers/gemm/gemm_openblas.c),
  # never linked: a linked OpenBLAS starts its thread pool in every nnbench run,
  # and its idle threads would compete with the training being measured.
  target_link_libraries(nnbench PRIVATE ${CMAKE_DL_LIBS})

  # ---- CLBlast: needs OpenCL as well
  if(NOT OpenCL_FOUND)
    find_package(OpenCL QUIET)
  endif()
  set(_nnb_clblast "")
  if(OpenCL_FOUND)
    if(PKG_CONFIG_FOUND)
      pkg_check_modules(NNBENCH_CLBLAST QUIET IMPORTED_TARGET clblast)
      if(NNBENCH_CLBLAST_FOUND)
        set(_nnb_clblast PkgConfig::NNBENCH_CLBLAST)
      endif()
    endif()
    if(NOT _nnb_clblast)
      find_library(NNBENCH_CLBLAST_LIB NAMES clblast)
      find_path(NNBENCH_CLBLAST_INCLUDE clblast_c.h)
      if(NNBENCH_CLBLAST_LIB AND NNBENCH_CLBLAST_INCLUDE)
        add_library(nnbench_clblast INTERFACE)
        target_link_libraries(nnbench_clblast INTERFACE ${NNBENCH_CLBLAST_LIB})
        target_include_directories(nnbench_clblast INTERFACE ${NNBENCH_CLBLAST_INCLUDE})
        set(_nnb_clblast nnbench_clblast)
      endif()
    endif()
  endif()
  if(_nnb_clblast)
    target_link_libraries(nnbench PRIVATE ${_nnb_clblast} OpenCL::OpenCL)
    target_compile_definitions(nnbench PRIVATE NNBENCH_HAVE_CLBLAST)
    message(STATUS "nnbench gemm: comparing with CLBlast")
  else()
    message(STATUS "nnbench gemm: CLBlast (or OpenCL) not found (comparison disabled)")
  endif()
endif()
