// Device discovery and the minimal memory helpers of the C ABI.
#include <cstdio>
#include <cstring>

#include "cuda_util.h"

using namespace relabel;
using namespace relabel::cuda;

extern "C" int32_t relabel_cuda_built(void) { return 1; }

extern "C" int32_t relabel_cuda_device_count(int32_t *count) {
  clear_error();
  if (count == nullptr) return fail(RELABEL_ERR_ARGUMENT, "count is NULL");
  *count = 0;
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();
    return fail(RELABEL_ERR_NO_CUDA, "no usable CUDA device: %s (%s)", cudaGetErrorString(err), cudaGetErrorName(err));
  }
  *count = n;
  return n > 0 ? RELABEL_OK : fail(RELABEL_ERR_NO_CUDA, "no CUDA device found");
}

extern "C" int32_t relabel_cuda_device_name(int32_t device, char *name, int32_t capacity) {
  clear_error();
  if (name == nullptr || capacity < 1) return fail(RELABEL_ERR_ARGUMENT, "name buffer is NULL or empty");
  name[0] = '\0';
  DeviceGuard guard;
  int32_t status = guard.enter(device);
  if (status != RELABEL_OK) return status;
  cudaDeviceProp prop;
  const cudaError_t err = cudaGetDeviceProperties(&prop, device);
  if (err != cudaSuccess) return cuda_fail(err, "cudaGetDeviceProperties");
  std::snprintf(name, static_cast<size_t>(capacity), "%s (sm_%d%d, %.1f GiB)", prop.name, prop.major, prop.minor,
                static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
  return RELABEL_OK;
}

extern "C" int32_t relabel_cuda_malloc(int32_t device, void **ptr, size_t bytes) {
  clear_error();
  if (ptr == nullptr) return fail(RELABEL_ERR_ARGUMENT, "ptr is NULL");
  *ptr = nullptr;
  DeviceGuard guard;
  int32_t status = guard.enter(device);
  if (status != RELABEL_OK) return status;
  const cudaError_t err = cudaMalloc(ptr, bytes == 0 ? 1 : bytes);
  return err == cudaSuccess ? RELABEL_OK : cuda_fail(err, "cudaMalloc");
}

extern "C" int32_t relabel_cuda_free(void *ptr) {
  clear_error();
  const cudaError_t err = cudaFree(ptr);
  return err == cudaSuccess ? RELABEL_OK : cuda_fail(err, "cudaFree");
}

extern "C" int32_t relabel_cuda_memcpy(void *dst, const void *src, size_t bytes, int32_t kind) {
  clear_error();
  cudaMemcpyKind k;
  switch (kind) {
    case 1: k = cudaMemcpyHostToDevice; break;
    case 2: k = cudaMemcpyDeviceToHost; break;
    case 3: k = cudaMemcpyDeviceToDevice; break;
    default: return fail(RELABEL_ERR_ARGUMENT, "memcpy kind must be 1 (H2D), 2 (D2H) or 3 (D2D), got %d", kind);
  }
  if (bytes == 0) return RELABEL_OK;
  if (dst == nullptr || src == nullptr) return fail(RELABEL_ERR_ARGUMENT, "memcpy with a NULL pointer");
  const cudaError_t err = cudaMemcpy(dst, src, bytes, k);
  return err == cudaSuccess ? RELABEL_OK : cuda_fail(err, "cudaMemcpy");
}

extern "C" int32_t relabel_cuda_memset(void *ptr, int32_t value, size_t bytes) {
  clear_error();
  if (bytes == 0) return RELABEL_OK;
  const cudaError_t err = cudaMemset(ptr, value, bytes);
  return err == cudaSuccess ? RELABEL_OK : cuda_fail(err, "cudaMemset");
}

extern "C" int32_t relabel_cuda_synchronize(int32_t device, relabel_stream stream) {
  clear_error();
  DeviceGuard guard;
  int32_t status = guard.enter(device);
  if (status != RELABEL_OK) return status;
  const cudaError_t err = cudaStreamSynchronize(static_cast<cudaStream_t>(stream));
  return err == cudaSuccess ? RELABEL_OK : cuda_fail(err, "cudaStreamSynchronize");
}
