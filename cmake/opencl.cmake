# opencl.cmake — the OpenCL backend, included by CMakeLists.txt when
# find_package(OpenCL) succeeded. Adds src/opencl/*.c to the `nn` library and
# embeds every kernels/*.cl file into it as C strings, regenerated whenever a
# .cl file changes (at run time $NN_KERNEL_DIR may name a folder to read instead).

file(GLOB NN_OPENCL_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/opencl/*.c)
file(GLOB NN_OPENCL_KERNELS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/kernels/*.cl)
list(SORT NN_OPENCL_KERNELS)

set(NN_KERNELS_C ${CMAKE_BINARY_DIR}/generated/nn_opencl_kernels.c)
add_custom_command(
  OUTPUT ${NN_KERNELS_C}
  COMMAND ${CMAKE_COMMAND} -DOUTPUT=${NN_KERNELS_C} "-DKERNELS=${NN_OPENCL_KERNELS}"
          -P ${CMAKE_SOURCE_DIR}/cmake/embed_kernels.cmake
  DEPENDS ${NN_OPENCL_KERNELS} ${CMAKE_SOURCE_DIR}/cmake/embed_kernels.cmake
  COMMENT "Embedding OpenCL kernels into nn_opencl_kernels.c"
  VERBATIM)

target_sources(nn PRIVATE ${NN_OPENCL_SOURCES} ${NN_KERNELS_C})
target_link_libraries(nn PUBLIC OpenCL::OpenCL)
target_compile_definitions(nn PUBLIC NN_HAVE_OPENCL CL_TARGET_OPENCL_VERSION=120)
