# RELABEL_CUDA=AUTO|ON|OFF: AUTO builds the CUDA twins when nvcc is found, ON requires nvcc, OFF never builds them.
# The value may also come from the environment variable of the same name. Sets RELABEL_WITH_CUDA.
if(NOT DEFINED RELABEL_CUDA)
  if(DEFINED ENV{RELABEL_CUDA})
    set(RELABEL_CUDA "$ENV{RELABEL_CUDA}")
  else()
    set(RELABEL_CUDA AUTO)
  endif()
endif()
set(RELABEL_CUDA "${RELABEL_CUDA}" CACHE STRING "Build the CUDA kernels: AUTO, ON or OFF")
set_property(CACHE RELABEL_CUDA PROPERTY STRINGS AUTO ON OFF)
string(TOUPPER "${RELABEL_CUDA}" _relabel_cuda)
if(NOT _relabel_cuda MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "RELABEL_CUDA must be AUTO, ON or OFF, got '${RELABEL_CUDA}'")
endif()

set(RELABEL_WITH_CUDA OFF)
if(NOT _relabel_cuda STREQUAL "OFF")
  # nvcc is often installed but not on PATH.
  if(NOT DEFINED CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS "/usr/local/cuda/bin/nvcc")
    find_program(_relabel_nvcc nvcc)
    if(NOT _relabel_nvcc)
      set(CMAKE_CUDA_COMPILER "/usr/local/cuda/bin/nvcc")
    endif()
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(RELABEL_WITH_CUDA ON)
  elseif(_relabel_cuda STREQUAL "ON")
    message(FATAL_ERROR "RELABEL_CUDA=ON but no CUDA compiler (nvcc) was found; set CUDACXX or use RELABEL_CUDA=AUTO")
  else()
    message(STATUS "relabel: nvcc not found, building without CUDA (RELABEL_CUDA=AUTO)")
  endif()
endif()

if(RELABEL_WITH_CUDA)
  # sm_80 (A100), sm_90 (H100/H200) machine code plus compute_90 PTX for newer GPUs.
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES "80-real;90-real;90-virtual")
  endif()
  # The CUDA runtime is linked statically so that the library loads on machines with no CUDA installed at all;
  # without a driver, relabel_cuda_device_count() reports why and the CPU path works as usual.
  set(CMAKE_CUDA_RUNTIME_LIBRARY Static)
  enable_language(CUDA)
  message(STATUS "relabel: building CUDA kernels with ${CMAKE_CUDA_COMPILER} for ${CMAKE_CUDA_ARCHITECTURES}")
endif()

# What this build of the native library carries, for the jar that ships it (relabel4j-core puts this file beside
# the .so files, org/relabel4j/jni/<platform>/relabel-build.properties) and for Relabel4j.info().
if(RELABEL_WITH_CUDA)
  string(REPLACE ";" "," _relabel_archs "${CMAKE_CUDA_ARCHITECTURES}")
  set(_relabel_build_props "cuda=ON\ncuda.architectures=${_relabel_archs}\ncuda.compiler.version=${CMAKE_CUDA_COMPILER_VERSION}\n")
else()
  set(_relabel_build_props "cuda=OFF\ncuda.architectures=\n")
endif()
file(WRITE "${CMAKE_BINARY_DIR}/relabel-build.properties"
     "# ReLabel4J native build (cmake/RelabelOptions.cmake)\nrelabel.cuda.option=${RELABEL_CUDA}\n${_relabel_build_props}")
