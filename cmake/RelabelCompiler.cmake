# Compiler settings shared by every native target.
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
set(CMAKE_CXX_VISIBILITY_PRESET hidden)
set(CMAKE_CUDA_VISIBILITY_PRESET hidden)
set(CMAKE_VISIBILITY_INLINES_HIDDEN ON)
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()

# No FMA contraction: the RoIAlign sample positions must round exactly as torchvision's (and identically on the
# CPU and the GPU), or floor() can land on a different cell at boundaries. No trapping math: nothing here relies on
# floating-point exceptions, and it lets the branch-free loops (exp, selects) vectorize.
set(RELABEL_CXX_FLAGS -Wall -Wextra -Wno-unused-parameter -ffp-contract=off -fno-trapping-math)
set(RELABEL_CUDA_FLAGS --fmad=false -Xcompiler=-ffp-contract=off,-fno-trapping-math --expt-relaxed-constexpr)

option(RELABEL_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer (tests)" OFF)
if(RELABEL_SANITIZE)
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-fsanitize=address,undefined> $<$<COMPILE_LANGUAGE:CXX>:-fno-omit-frame-pointer>)
  add_link_options(-fsanitize=address,undefined)
endif()
