// Minimal .npy (NumPy format 1.0/2.0, little-endian, C order) reader/writer for the native tests and bench.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace npy {

struct Array {
  std::string dtype;  // numpy descr, e.g. "<f4", "<i4", "<f2"
  std::vector<int64_t> shape;
  std::vector<char> data;

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  template <typename T>
  const T *as() const {
    return reinterpret_cast<const T *>(data.data());
  }
  template <typename T>
  std::vector<T> vec() const {
    std::vector<T> v(static_cast<size_t>(numel()));
    std::memcpy(v.data(), data.data(), v.size() * sizeof(T));
    return v;
  }
};

inline bool exists(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  return f.good();
}

inline Array load(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  char magic[8];
  f.read(magic, 8);
  if (!f || std::memcmp(magic, "\x93NUMPY", 6) != 0) throw std::runtime_error(path + ": not a .npy file");
  uint32_t header_len = 0;
  if (magic[6] == 1) {
    uint16_t len16 = 0;
    f.read(reinterpret_cast<char *>(&len16), 2);
    header_len = len16;
  } else {
    f.read(reinterpret_cast<char *>(&header_len), 4);
  }
  std::string header(header_len, '\0');
  f.read(&header[0], header_len);
  Array a;
  const auto descr = header.find("'descr':");
  const auto q1 = header.find('\'', descr + 8), q2 = header.find('\'', q1 + 1);
  a.dtype = header.substr(q1 + 1, q2 - q1 - 1);
  if (header.find("'fortran_order': True") != std::string::npos) throw std::runtime_error(path + ": Fortran order");
  const auto s1 = header.find('(', header.find("'shape':")), s2 = header.find(')', s1);
  std::stringstream dims(header.substr(s1 + 1, s2 - s1 - 1));
  std::string item;
  while (std::getline(dims, item, ',')) {
    if (item.find_first_not_of(" ") != std::string::npos) a.shape.push_back(std::stoll(item));
  }
  size_t item_size = 0;
  if (a.dtype == "<f4" || a.dtype == "<i4" || a.dtype == "<u4") item_size = 4;
  else if (a.dtype == "<f2" || a.dtype == "<u2" || a.dtype == "<i2") item_size = 2;
  else if (a.dtype == "<i8" || a.dtype == "<f8") item_size = 8;
  else if (a.dtype == "|u1" || a.dtype == "|b1") item_size = 1;
  else throw std::runtime_error(path + ": unsupported dtype " + a.dtype);
  a.data.resize(static_cast<size_t>(a.numel()) * item_size);
  f.read(a.data.data(), static_cast<std::streamsize>(a.data.size()));
  if (!f) throw std::runtime_error(path + ": truncated data");
  return a;
}

}  // namespace npy
