// The arithmetic that defines the semantics of the ops, shared by the CPU kernels (native/src) and their CUDA
// twins (cuda/) so that the two cannot drift: fp16/bf16 conversion, the RoIAlign geometry of a crop box, and the
// separable bilinear sampling weights. Compiled as host code by the C++ compiler and as host+device code by nvcc.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "relabel/relabel.h"

#if defined(__CUDACC__)
#define RELABEL_HD __host__ __device__ __forceinline__
#else
#define RELABEL_HD inline
#endif

namespace relabel {

// Normalized box coordinates beyond this magnitude are rejected: a crop 64 image-widths away is a bug, and
// the sampling grid (ceil(box size / S) per axis) must stay bounded.
constexpr float kMaxBoxCoordinate = 64.0f;

RELABEL_HD uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
#endif
}

RELABEL_HD float bits_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
#endif
}

// IEEE binary16 -> binary32, exact for every input (subnormals, Inf, NaN included): the exponent and mantissa
// bits moved into binary32 position denote the value times 2^-112, so one exact multiply rescales normal and
// subnormal halves alike.
RELABEL_HD float half_to_float(uint16_t h) {
  const uint32_t magnitude = h & 0x7fffu;
  uint32_t bits = float_bits(bits_float(magnitude << 13) * 0x1p112f);
  if (magnitude >= 0x7c00u) bits = 0x7f800000u | (magnitude & 0x3ffu) << 13;  // Inf / NaN
  return bits_float(bits | static_cast<uint32_t>(h & 0x8000u) << 16);
}

// binary32 -> binary16 with round-to-nearest-even (what torch's Tensor.half() does). Values that round beyond
// 65504 become +-Inf; NaN stays NaN.
RELABEL_HD uint16_t float_to_half(float f) {
  uint32_t x = float_bits(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  x &= 0x7fffffffu;
  if (x >= 0x7f800000u) return sign | (x > 0x7f800000u ? 0x7e00u : 0x7c00u);
  if (x >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 rounds to Inf
  if (x < 0x38800000u) {                          // below the smallest normal half, 2^-14
    if (x < 0x33000000u) return sign;             // below 2^-25: rounds to zero
    const uint32_t mantissa = (x & 0x7fffffu) | 0x800000u;
    const int shift = 126 - static_cast<int>(x >> 23);  // 14..24
    uint32_t h = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1u);
    const uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (h & 1u))) ++h;
    return sign | static_cast<uint16_t>(h);
  }
  uint32_t h = ((x >> 23) - 112u) << 10 | ((x >> 13) & 0x3ffu);
  const uint32_t rest = x & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // a carry into the exponent is still correct
  return sign | static_cast<uint16_t>(h);
}

RELABEL_HD float bf16_to_float(uint16_t b) { return bits_float(static_cast<uint32_t>(b) << 16); }

RELABEL_HD bool is_finite(float v) { return (float_bits(v) & 0x7f800000u) != 0x7f800000u; }

// How a map's stored scores become floats: float32 (RELABEL_F32) and fp16 (RELABEL_F16) exactly; uint8
// (RELABEL_U8, records only) as offset + scale * q with the record's own scale and offset.
struct Dequant {
  float scale, offset;
};
RELABEL_HD float load_score(const float *p, int64_t i, Dequant) { return p[i]; }
RELABEL_HD float load_score(const uint16_t *p, int64_t i, Dequant) { return half_to_float(p[i]); }
RELABEL_HD float load_score(const uint8_t *p, int64_t i, Dequant d) {
  return d.offset + d.scale * static_cast<float>(p[i]);
}

// The dequantization of map `map` whose quantization block is at quant + map * stride (quant NULL: none).
RELABEL_HD Dequant load_dequant(const char *quant, int64_t stride, int64_t map) {
  Dequant d{1.0f, 0.0f};
  if (quant != nullptr) {
    const float *q = reinterpret_cast<const float *>(quant + map * stride);
    d.scale = q[0];
    d.offset = q[1];
  }
  return d;
}

// RoIAlign geometry of one crop box: torchvision's roi_align(aligned=False, spatial_scale=1, sampling_ratio=-1)
// over the box (x1*W-0.5, y1*H-0.5, x2*W-0.5, y2*H-0.5), with its exact float arithmetic.
struct RoiGeometry {
  float start_x, start_y;  // roi start in map cells
  float bin_w, bin_h;      // bin size in map cells
  int grid_w, grid_h;      // samples per bin and axis
  float count;             // samples per bin (the average's divisor)
};

RELABEL_HD RoiGeometry roi_geometry(const float *box, int32_t box_order, int height, int width, int out_size) {
  float x1, y1, x2, y2;
  if (box_order == RELABEL_BOX_OFFICIAL) {
    // The released code builds (y0, x0, y0+h, x0+w) and hands it to roi_align as (x1, y1, x2, y2), scaling
    // both axes by the map width.
    x1 = box[1] * static_cast<float>(width) - 0.5f;
    y1 = box[0] * static_cast<float>(width) - 0.5f;
    x2 = box[3] * static_cast<float>(width) - 0.5f;
    y2 = box[2] * static_cast<float>(width) - 0.5f;
  } else {
    x1 = box[0] * static_cast<float>(width) - 0.5f;
    y1 = box[1] * static_cast<float>(height) - 0.5f;
    x2 = box[2] * static_cast<float>(width) - 0.5f;
    y2 = box[3] * static_cast<float>(height) - 0.5f;
  }
  RoiGeometry g;
  float roi_w = x2 - x1, roi_h = y2 - y1;
  if (!(roi_w >= 1.0f)) roi_w = 1.0f;  // aligned=False forces malformed boxes to 1x1 cells
  if (!(roi_h >= 1.0f)) roi_h = 1.0f;
  g.start_x = x1;
  g.start_y = y1;
  g.bin_w = roi_w / static_cast<float>(out_size);
  g.bin_h = roi_h / static_cast<float>(out_size);
  g.grid_w = static_cast<int>(ceilf(roi_w / static_cast<float>(out_size)));
  g.grid_h = static_cast<int>(ceilf(roi_h / static_cast<float>(out_size)));
  const int samples = g.grid_w * g.grid_h;
  g.count = static_cast<float>(samples > 1 ? samples : 1);
  return g;
}

// Sample i of bin `bin` along one axis: false when it lies outside [-1, size] (it contributes nothing), else its
// two cells lo <= hi and their bilinear weights h (for lo) and l (for hi), with torchvision's clamping.
struct AxisSample {
  int lo, hi;
  float h, l;
};
RELABEL_HD bool axis_sample(float start, float bin_size, int grid, int bin, int size, int i, AxisSample *s) {
  float c = start + static_cast<float>(bin) * bin_size +
            static_cast<float>(i + 0.5f) * bin_size / static_cast<float>(grid);
  if (!(c >= -1.0f && c <= static_cast<float>(size))) return false;
  if (c <= 0.0f) c = 0.0f;
  s->lo = static_cast<int>(c);
  if (s->lo >= size - 1) {
    s->hi = s->lo = size - 1;
    c = static_cast<float>(s->lo);
  } else {
    s->hi = s->lo + 1;
  }
  s->l = c - static_cast<float>(s->lo);
  s->h = 1.0f - s->l;
  return true;
}

// Adds the bilinear weights of bin `bin` along one axis to w[0, size): RoIAlign's weight on map cell (y, x) for
// that bin is wy[y] * wx[x] / count, because a sample contributes only when both of its coordinates are inside
// [-1, size] and its bilinear weights factor into a row and a column part. Returns nothing; w must be zeroed.
RELABEL_HD void accumulate_axis_weights(float start, float bin_size, int grid, int bin, int size, float *w) {
  AxisSample s;
  for (int i = 0; i < grid; ++i) {
    if (!axis_sample(start, bin_size, grid, bin, size, i, &s)) continue;
    w[s.lo] += s.h;
    w[s.hi] += s.l;
  }
}

// The weight accumulate_axis_weights gives to the one cell `cell`, computed on its own (so that each GPU thread can
// compute one cell's weight in parallel): the same samples in the same order, the same float additions onto 0, so
// the result is bit-identical to w[cell] after accumulate_axis_weights (tested by relabel_tests conversions).
RELABEL_HD float axis_weight(float start, float bin_size, int grid, int bin, int size, int cell) {
  float w = 0.0f;
  AxisSample s;
  for (int i = 0; i < grid; ++i) {
    if (!axis_sample(start, bin_size, grid, bin, size, i, &s)) continue;
    if (s.lo == cell) w += s.h;
    if (s.hi == cell) w += s.l;
  }
  return w;
}

// e^x for x <= 0 (every softmax here exponentiates value - max): Cody-Waite reduction x = n ln2 + r, a degree-6
// polynomial for e^r on |r| <= ln2/2 (relative error < 2e-7), and 2^n from the exponent bits; 0 below -87.33
// (where e^x leaves the normal range). Branch-free, so the CPU loops vectorize, and bit-identical on the CPU
// and the GPU (no FMA contraction on either side).
RELABEL_HD float exp_nonpositive(float x) {
  const bool underflow = !(x >= -87.33654f);
  x = underflow ? -87.33654f : x;
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round(x / ln2)
  float r = x - n * 0.693145751953125f;                                   // ln2, high part (exact product)
  r = r - n * 1.428606765330187e-06f;                                     // ln2, low part
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const float scale = bits_float(static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23);
  return underflow ? 0.0f : p * scale;
}

// Softmax with a shared fill value: over C classes of which only `touched` carry a pooled value and the rest
// are exactly 0, softmax(v / T) needs exp() only for the touched classes:
//   m = max(touched values, 0 if any class is untouched), Z = sum_touched e^((v-m)/T) + untouched * e^(-m/T).
RELABEL_HD float softmax_term(float value, float max_value, float inv_temperature) {
  return exp_nonpositive((value - max_value) * inv_temperature);
}

}  // namespace relabel
