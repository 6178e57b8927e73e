/// @file io/safetensors.hpp
/// The `.safetensors` weight format (Hugging Face): how the native InceptionV1 gets its
/// weights without Python or pickle. CPU only, no LibTorch.
///
/// Layout of a file:
///
///     u64 little-endian N | N bytes of JSON header | data bytes
///
/// The header is a JSON object `{name: {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}}`,
/// plus an optional `"__metadata__"` object of string → string. Offsets are relative to the
/// start of the data bytes; together the ranges must tile the data exactly (no overlap,
/// no hole, nothing after the last one), and each range must hold exactly
/// prod(shape) × sizeof(dtype) bytes. Everything is checked when the file is opened, so a
/// truncated or forged file is an `input_error` naming the file (and the tensor), never a
/// read past the end.
///
/// - `safetensors_file`: opens and validates; lists tensors; reads one tensor as float
///   (F32, F16 and BF16 are converted; F64 is narrowed) or as raw bytes.
/// - `safetensors_writer`: collects float32 tensors and metadata and writes them atomically.
///
/// @code
/// actatlas::io::safetensors_writer w;
/// w.add("conv.weight", {64, 3, 7, 7}, weights.data());
/// w.metadata("format", "pt");
/// w.write("model.safetensors");
///
/// actatlas::io::safetensors_file f("model.safetensors");
/// std::vector<float> values = f.read_float("conv.weight");   // 64·3·7·7 floats
/// @endcode
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../error.hpp"
#include "atomic_file.hpp"

namespace actatlas::io {

//! The element types of the safetensors format.
enum class safetensors_dtype { F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL, F8_E4M3, F8_E5M2 };

namespace detail {

struct dtype_entry {
  std::string_view name;
  safetensors_dtype dtype;
  std::size_t bytes;
};

inline constexpr dtype_entry safetensors_dtypes[] = {
    {"F64", safetensors_dtype::F64, 8},   {"F32", safetensors_dtype::F32, 4},
    {"F16", safetensors_dtype::F16, 2},   {"BF16", safetensors_dtype::BF16, 2},
    {"I64", safetensors_dtype::I64, 8},   {"I32", safetensors_dtype::I32, 4},
    {"I16", safetensors_dtype::I16, 2},   {"I8", safetensors_dtype::I8, 1},
    {"U64", safetensors_dtype::U64, 8},   {"U32", safetensors_dtype::U32, 4},
    {"U16", safetensors_dtype::U16, 2},   {"U8", safetensors_dtype::U8, 1},
    {"BOOL", safetensors_dtype::BOOL, 1}, {"F8_E4M3", safetensors_dtype::F8_E4M3, 1},
    {"F8_E5M2", safetensors_dtype::F8_E5M2, 1},
};

//! Headers larger than this are refused before any allocation: the reference
//! implementation uses the same 100 MB bound, and a forged length must not make us
//! allocate gigabytes.
inline constexpr std::uint64_t safetensors_max_header = 100'000'000;

inline std::uint64_t read_u64_le(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

inline void write_u64_le(std::ostream& out, std::uint64_t v) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out.write(bytes, 8);
}

//! IEEE half → float, exact for every value (subnormals, infinities and NaN included).
inline float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exponent = (h >> 10) & 0x1fu;
  std::uint32_t mantissa = h & 0x3ffu;
  std::uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);  // inf / NaN
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);  // 127 - 15 = 112
  } else if (mantissa == 0) {
    bits = sign;  // ±0
  } else {
    // Subnormal half: normalise the mantissa into a normal float.
    exponent = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

//! bfloat16 is the upper half of a float32.
inline float bfloat16_to_float(std::uint16_t b) { return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16); }

template <class T>
T load_le(const unsigned char* p) {
  using U = std::conditional_t<sizeof(T) == 2, std::uint16_t, std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>;
  U v = 0;
  for (int i = static_cast<int>(sizeof(T)) - 1; i >= 0; --i) v = static_cast<U>((v << 8) | p[i]);
  return std::bit_cast<T>(v);
}

inline std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";  // two appends: see demo_model.hpp's shape_text (a GCC 12 false positive)
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

}  // namespace detail

//! The name of a dtype as the format spells it ("F32", "BF16", ...).
inline std::string_view to_string(safetensors_dtype d) {
  for (const auto& e : detail::safetensors_dtypes)
    if (e.dtype == d) return e.name;
  return "?";
}

//! Bytes per element of a dtype.
inline std::size_t element_size(safetensors_dtype d) {
  for (const auto& e : detail::safetensors_dtypes)
    if (e.dtype == d) return e.bytes;
  return 0;
}

//! One tensor listed in a file's header.
struct safetensors_entry {
  std::string name;
  safetensors_dtype dtype = safetensors_dtype::F32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;  //!< byte offset from the start of the data section
  std::uint64_t end = 0;    //!< one past the last byte

  std::int64_t count() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

//! A validated `.safetensors` file. The header is read and checked on construction; tensor
//! data is read on demand, one tensor at a time, so opening a large file is cheap.
class safetensors_file {
 public:
  explicit safetensors_file(const std::filesystem::path& path) : path_(path) { parse(); }

  const std::filesystem::path& path() const { return path_; }

  //! Every tensor, in the order of their data (ascending offsets).
  const std::vector<safetensors_entry>& tensors() const { return entries_; }

  //! The `__metadata__` map (empty when the file has none).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  bool contains(std::string_view name) const { return find(name) != nullptr; }

  //! The entry called `name`, or nullptr.
  const safetensors_entry* find(std::string_view name) const {
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const auto& e) { return e.name == name; });
    return it == entries_.end() ? nullptr : &*it;
  }

  //! The entry called `name`; input_error naming the file and the tensor when absent.
  const safetensors_entry& at(std::string_view name) const {
    if (const auto* e = find(name)) return *e;
    throw input_error(path_.string(), "no tensor '" + std::string(name) + "' in the file");
  }

  //! The tensor's bytes exactly as stored (little-endian).
  std::vector<unsigned char> read_bytes(std::string_view name) const {
    const auto& e = at(name);
    std::vector<unsigned char> bytes(static_cast<std::size_t>(e.end - e.begin));
    std::ifstream in(path_, std::ios::binary);
    if (!in) throw input_error(path_.string(), "cannot open for reading");
    in.seekg(static_cast<std::streamoff>(data_start_ + e.begin));
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!in) throw input_error(path_.string(), "tensor '" + e.name + "': read failed (file changed since it was opened?)");
    return bytes;
  }

  //! The tensor as float32, row-major: F32 as is, F16 and BF16 widened exactly, F64
  //! narrowed. Any other dtype is an input_error naming the tensor.
  std::vector<float> read_float(std::string_view name) const {
    const auto& e = at(name);
    switch (e.dtype) {
      case safetensors_dtype::F32: case safetensors_dtype::F16:
      case safetensors_dtype::BF16: case safetensors_dtype::F64: break;
      default:
        throw input_error(path_.string(), "tensor '" + e.name + "' has dtype " + std::string(to_string(e.dtype)) +
                                              ", expected a floating-point one (F32, F16, BF16 or F64)");
    }
    const auto bytes = read_bytes(name);
    const std::size_t n = static_cast<std::size_t>(e.count());
    std::vector<float> out(n);
    const unsigned char* p = bytes.data();
    switch (e.dtype) {
      case safetensors_dtype::F32:
        for (std::size_t i = 0; i < n; ++i) out[i] = detail::load_le<float>(p + 4 * i);
        break;
      case safetensors_dtype::F64:
        for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(detail::load_le<double>(p + 8 * i));
        break;
      case safetensors_dtype::F16:
        for (std::size_t i = 0; i < n; ++i) out[i] = detail::half_to_float(detail::load_le<std::uint16_t>(p + 2 * i));
        break;
      default:  // BF16
        for (std::size_t i = 0; i < n; ++i) out[i] = detail::bfloat16_to_float(detail::load_le<std::uint16_t>(p + 2 * i));
        break;
    }
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const { throw input_error(path_.string(), problem); }

  void parse() {
    namespace fs = std::filesystem;
    std::error_code ec;
    const auto file_size = fs::file_size(path_, ec);
    if (ec) fail("cannot read: " + ec.message());
    if (file_size < 8) fail("not a .safetensors file (" + std::to_string(file_size) + " bytes, shorter than the 8-byte header length)");
    std::ifstream in(path_, std::ios::binary);
    if (!in) fail("cannot open for reading");
    unsigned char length_bytes[8];
    in.read(reinterpret_cast<char*>(length_bytes), 8);
    if (!in) fail("cannot read the header length");
    const std::uint64_t header_size = detail::read_u64_le(length_bytes);
    if (header_size > file_size - 8)
      fail("header length " + std::to_string(header_size) + " runs past the end of the file (" + std::to_string(file_size) + " bytes)");
    if (header_size > detail::safetensors_max_header)
      fail("header length " + std::to_string(header_size) + " exceeds the 100 MB limit");
    if (header_size < 2) fail("header of " + std::to_string(header_size) + " bytes cannot hold a JSON object");
    std::string header(static_cast<std::size_t>(header_size), '\0');
    in.read(header.data(), static_cast<std::streamsize>(header_size));
    if (!in) fail("cannot read the header");
    data_start_ = 8 + header_size;
    const std::uint64_t data_size = file_size - data_start_;

    nlohmann::json j;
    try {
      j = nlohmann::json::parse(header);
    } catch (const nlohmann::json::parse_error& e) {
      fail(std::string("header is not valid JSON (") + e.what() + ")");
    }
    if (!j.is_object()) fail("header is not a JSON object");

    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "__metadata__") {
        parse_metadata(it.value());
        continue;
      }
      entries_.push_back(parse_entry(it.key(), it.value(), data_size));
    }

    // The ranges must tile [0, data_size): sort by offset, then check each begins where
    // the previous ended. Empty tensors (begin == end) may sit anywhere in the tiling.
    std::sort(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    std::uint64_t covered = 0;
    const safetensors_entry* previous = nullptr;
    for (const auto& e : entries_) {
      if (e.begin < covered)
        fail("tensor '" + e.name + "' overlaps tensor '" + previous->name + "' (bytes " + std::to_string(e.begin) +
             " < " + std::to_string(covered) + ")");
      if (e.begin > covered)
        fail("data has a hole of " + std::to_string(e.begin - covered) + " bytes before tensor '" + e.name + "'");
      covered = e.end;
      if (e.end > e.begin) previous = &e;
    }
    if (covered != data_size)
      fail("data section has " + std::to_string(data_size - covered) + " bytes after the last tensor that no tensor covers");
  }

  void parse_metadata(const nlohmann::json& m) {
    if (!m.is_object()) fail("\"__metadata__\" is not a JSON object");
    for (auto it = m.begin(); it != m.end(); ++it) {
      if (!it.value().is_string()) fail("\"__metadata__\" entry '" + it.key() + "' is not a string");
      metadata_[it.key()] = it.value().get<std::string>();
    }
  }

  safetensors_entry parse_entry(const std::string& name, const nlohmann::json& v, std::uint64_t data_size) const {
    const std::string what = "tensor '" + name + "'";
    if (!v.is_object()) fail(what + ": header entry is not a JSON object");
    safetensors_entry e;
    e.name = name;

    const auto dt = v.find("dtype");
    if (dt == v.end() || !dt->is_string()) fail(what + ": missing \"dtype\" string");
    const auto dtype_name = dt->get<std::string>();
    const auto* known = std::find_if(std::begin(detail::safetensors_dtypes), std::end(detail::safetensors_dtypes),
                                     [&](const auto& d) { return d.name == dtype_name; });
    if (known == std::end(detail::safetensors_dtypes)) fail(what + ": unknown dtype \"" + dtype_name + "\"");
    e.dtype = known->dtype;

    const auto sh = v.find("shape");
    if (sh == v.end() || !sh->is_array()) fail(what + ": missing \"shape\" array");
    // Element count computed with an overflow check: a forged shape must not wrap around
    // to a small number that happens to match the byte range.
    std::uint64_t count = 1;
    for (const auto& d : *sh) {
      if (!d.is_number_integer() || d.get<std::int64_t>() < 0) fail(what + ": shape " + sh->dump() + " has a dimension that is not a non-negative integer");
      const auto dim = static_cast<std::uint64_t>(d.get<std::int64_t>());
      if (dim != 0 && count > std::numeric_limits<std::uint64_t>::max() / dim / known->bytes)
        fail(what + ": shape " + sh->dump() + " is too large");
      count *= dim;
      e.shape.push_back(d.get<std::int64_t>());
    }

    const auto off = v.find("data_offsets");
    if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
      fail(what + ": \"data_offsets\" is not a pair of non-negative integers");
    e.begin = (*off)[0].get<std::uint64_t>();
    e.end = (*off)[1].get<std::uint64_t>();
    if (e.begin > e.end) fail(what + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "] are reversed");
    if (e.end > data_size)
      fail(what + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
           "] run past the data section (" + std::to_string(data_size) + " bytes; file truncated?)");
    const std::uint64_t expected = count * known->bytes;
    if (e.end - e.begin != expected)
      fail(what + ": shape " + detail::shape_string(e.shape) + " of " + dtype_name + " needs " + std::to_string(expected) +
           " bytes but data_offsets cover " + std::to_string(e.end - e.begin));
    return e;
  }

  std::filesystem::path path_;
  std::vector<safetensors_entry> entries_;
  std::map<std::string, std::string> metadata_;
  std::uint64_t data_start_ = 0;
};

//! Collects float32 tensors (and metadata) and writes a `.safetensors` file atomically.
//! Tensors are written in name order, so the same content always gives the same bytes;
//! the header is padded with spaces to a multiple of 8 bytes so that data is aligned.
class safetensors_writer {
 public:
  //! Adds a float32 tensor by copying `values` (prod(shape) floats, row-major).
  void add(std::string name, std::vector<std::int64_t> shape, const float* values) {
    std::int64_t n = 1;
    for (auto d : shape) {
      if (d < 0) throw input_error("safetensors_writer", "tensor '" + name + "': negative dimension in shape " + detail::shape_string(shape));
      n *= d;
    }
    add(std::move(name), std::move(shape), std::vector<float>(values, values + n));
  }

  //! Adds a float32 tensor, taking its values.
  void add(std::string name, std::vector<std::int64_t> shape, std::vector<float> values) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    if (name.empty() || name == "__metadata__") throw input_error("safetensors_writer", "'" + name + "' is not a valid tensor name");
    if (static_cast<std::int64_t>(values.size()) != n)
      throw input_error("safetensors_writer", "tensor '" + name + "': shape " + detail::shape_string(shape) + " needs " +
                                                  std::to_string(n) + " values, got " + std::to_string(values.size()));
    if (tensors_.count(name)) throw input_error("safetensors_writer", "tensor '" + name + "' added twice");
    tensors_.emplace(std::move(name), pending{std::move(shape), std::move(values)});
  }

  //! Sets a `__metadata__` entry.
  void metadata(std::string key, std::string value) { metadata_[std::move(key)] = std::move(value); }

  std::size_t size() const { return tensors_.size(); }

  //! Writes the file (temporary name, then rename).
  void write(const std::filesystem::path& path) const {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata_.empty()) header["__metadata__"] = metadata_;
    std::uint64_t offset = 0;
    for (const auto& [name, t] : tensors_) {
      const std::uint64_t bytes = t.values.size() * sizeof(float);
      header[name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
      offset += bytes;
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    atomic_write(path, [&](std::ostream& out) {
      detail::write_u64_le(out, text.size());
      out.write(text.data(), static_cast<std::streamsize>(text.size()));
      for (const auto& [name, t] : tensors_) {
        if constexpr (std::endian::native == std::endian::little) {
          out.write(reinterpret_cast<const char*>(t.values.data()), static_cast<std::streamsize>(t.values.size() * sizeof(float)));
        } else {
          for (float v : t.values) {
            const auto bits = std::bit_cast<std::uint32_t>(v);
            const char le[4] = {char(bits & 0xff), char((bits >> 8) & 0xff), char((bits >> 16) & 0xff), char(bits >> 24)};
            out.write(le, 4);
          }
        }
      }
    });
  }

 private:
  struct pending {
    std::vector<std::int64_t> shape;
    std::vector<float> values;
  };
  std::map<std::string, pending> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace actatlas::io
