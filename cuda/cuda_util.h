// Helpers shared by the CUDA twins: runtime error reporting, device selection, block reductions.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "errors.h"
#include "relabel/relabel.h"

namespace relabel {
namespace cuda {

constexpr int kBlock = 256;  // threads per block of every kernel here

// Reports a failed runtime call as RELABEL_ERR_CUDA (or RELABEL_ERR_NO_CUDA when there is no device/driver) and
// clears the runtime's sticky-free error state.
inline int32_t cuda_fail(cudaError_t err, const char *what) {
  cudaGetLastError();
  const int32_t status = (err == cudaErrorNoDevice || err == cudaErrorInsufficientDriver ||
                          err == cudaErrorInitializationError)
                             ? RELABEL_ERR_NO_CUDA
                             : RELABEL_ERR_CUDA;
  return fail(status, "%s: %s (%s)", what, cudaGetErrorString(err), cudaGetErrorName(err));
}

// Makes `device` current for the lifetime of the guard (after checking that it exists) and restores the
// thread's previous device afterwards, so that callers sharing the thread (LibTorch) keep theirs.
class DeviceGuard {
 public:
  DeviceGuard() = default;
  DeviceGuard(const DeviceGuard &) = delete;
  DeviceGuard &operator=(const DeviceGuard &) = delete;
  ~DeviceGuard() {
    if (changed_) cudaSetDevice(previous_);
  }

  int32_t enter(int32_t device) {
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) return cuda_fail(err, "cudaGetDeviceCount");
    if (device < 0 || device >= count)
      return fail(RELABEL_ERR_ARGUMENT, "CUDA device %d does not exist (%d device(s))", device, count);
    err = cudaGetDevice(&previous_);
    if (err != cudaSuccess) return cuda_fail(err, "cudaGetDevice");
    if (previous_ != device) {
      err = cudaSetDevice(device);
      if (err != cudaSuccess) return cuda_fail(err, "cudaSetDevice");
      changed_ = true;
    }
    return RELABEL_OK;
  }

 private:
  int previous_ = 0;
  bool changed_ = false;
};

// Which generation of the kernels runs: RELABEL_KERNELS=v1 (default) or v2, read from the environment once per
// process. Both compute the same op to the same tolerances (bench/gpu/check.sh validates and times both); v1 stays
// the default until a device run has shown v2 correct and faster. Any other value is an argument error.
inline int32_t kernel_generation(int *generation) {
  static const int cached = [] {
    const char *e = std::getenv("RELABEL_KERNELS");
    if (e == nullptr || *e == '\0' || std::strcmp(e, "v1") == 0) return 1;
    return std::strcmp(e, "v2") == 0 ? 2 : -1;
  }();
  if (cached < 0) {
    const char *e = std::getenv("RELABEL_KERNELS");
    return fail(RELABEL_ERR_ARGUMENT, "environment variable RELABEL_KERNELS must be v1 or v2, got '%s'",
                e != nullptr ? e : "");
  }
  *generation = cached;
  return RELABEL_OK;
}

inline int32_t check_launch(const char *kernel) {
  const cudaError_t err = cudaGetLastError();
  return err == cudaSuccess ? RELABEL_OK : cuda_fail(err, kernel);
}

template <typename T>
struct SumOp {
  __device__ T operator()(T a, T b) const { return a + b; }
};
struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

// Reduces v over the block (identity: op's neutral element); every thread gets the result. scratch: >= 32
// elements of shared memory. Contains __syncthreads(): call from all threads.
template <typename T, typename Op>
__device__ T block_reduce(T v, Op op, T identity, T *scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  for (int offset = 16; offset > 0; offset >>= 1) v = op(v, __shfl_down_sync(0xffffffffu, v, offset));
  __syncthreads();  // scratch may still be read by a previous reduction
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) {
    T w = lane < warps ? scratch[lane] : identity;
    for (int offset = 16; offset > 0; offset >>= 1) w = op(w, __shfl_down_sync(0xffffffffu, w, offset));
    if (lane == 0) scratch[0] = w;
  }
  __syncthreads();
  return scratch[0];
}

}  // namespace cuda
}  // namespace relabel
