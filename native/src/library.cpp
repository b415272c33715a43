// Library identity, and the CUDA entry points of a build without CUDA (they report why instead of failing to
// link, so that one Java binding serves both builds).
#include "errors.h"
#include "relabel/relabel.h"

#ifndef RELABEL_VERSION_STRING
#define RELABEL_VERSION_STRING "unknown"
#endif

extern "C" const char *relabel_version(void) { return RELABEL_VERSION_STRING; }

extern "C" int32_t relabel_abi_version(void) { return RELABEL_ABI_VERSION; }

#ifndef RELABEL_BUILD_INFO
#define RELABEL_BUILD_INFO "unknown"
#endif
extern "C" const char *relabel_build_info(void) { return RELABEL_BUILD_INFO ", C++ " __VERSION__; }

#ifndef RELABEL_WITH_CUDA
namespace {
int32_t not_built() {
  return relabel::fail(RELABEL_ERR_NO_CUDA,
                       "this build of the relabel native library has no CUDA support (built with RELABEL_CUDA=OFF "
                       "or without nvcc)");
}
}  // namespace

extern "C" {
int32_t relabel_cuda_built(void) { return 0; }
int32_t relabel_cuda_device_count(int32_t *count) {
  if (count != nullptr) *count = 0;
  return not_built();
}
int32_t relabel_cuda_device_name(int32_t, char *name, int32_t capacity) {
  if (name != nullptr && capacity > 0) name[0] = '\0';
  return not_built();
}
int32_t relabel_cuda_label_pool(const relabel_map_spec *, const relabel_pool_params *, const void *, const void *,
                                int64_t, const float *, const uint8_t *, float *, relabel_pool_stats *, int32_t,
                                relabel_stream) {
  return not_built();
}
int32_t relabel_cuda_label_pool_gather(const relabel_map_spec *, const relabel_pool_params *, const void *, int64_t,
                                       const int64_t *, int64_t, const float *, const uint8_t *, float *,
                                       relabel_pool_stats *, int32_t, relabel_stream) {
  return not_built();
}
int32_t relabel_cuda_topk_compress(const void *, int32_t, int64_t, int32_t, int32_t, int32_t, int32_t, void *, int32_t,
                                   void *, int32_t, int32_t *, int32_t, relabel_stream) {
  return not_built();
}
int32_t relabel_cuda_malloc(int32_t, void **ptr, size_t) {
  if (ptr != nullptr) *ptr = nullptr;
  return not_built();
}
int32_t relabel_cuda_free(void *) { return not_built(); }
int32_t relabel_cuda_memcpy(void *, const void *, size_t, int32_t) { return not_built(); }
int32_t relabel_cuda_memset(void *, int32_t, size_t) { return not_built(); }
int32_t relabel_cuda_synchronize(int32_t, relabel_stream) { return not_built(); }
}
#endif
