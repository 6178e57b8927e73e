/// @file io/npy.hpp
/// NumPy's `.npy` format, the exchange format of every stage (activations N×D,
/// attributions N×C, layouts N×2; float32, int32 or int64, C order, little-endian).
///
/// - `read_npy<T, R>(path)`: the whole file into an xtensor, validated.
/// - `write_npy(path, array)`: written atomically (temporary name, then rename).
/// - `mapped_npy`: a read-only memory map of a 2-D float32 file, for data larger than memory.
/// - `npy_writer`: appends rows to a 2-D file whose row count is written at `close()`.
///
/// Every problem (wrong dtype, wrong rank, Fortran order, truncated or oversized file,
/// a NaN or infinity in float data) is an `input_error` naming the file.
#pragma once

#include <array>
#include <cerrno>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../detail/xtensor_compat.hpp"
#include "../error.hpp"
#include "../matrix.hpp"
#include "atomic_file.hpp"

namespace actatlas::io {

namespace detail {

static_assert(std::endian::native == std::endian::little, "actatlas reads and writes little-endian .npy only");

template <class T>
constexpr std::string_view npy_descr() {
  if constexpr (std::is_same_v<T, float>) return "<f4";
  else if constexpr (std::is_same_v<T, std::int32_t>) return "<i4";
  else if constexpr (std::is_same_v<T, std::int64_t>) return "<i8";
  else static_assert(sizeof(T) == 0, "actatlas .npy supports float, std::int32_t and std::int64_t");
}

struct npy_header {
  std::string descr;
  bool fortran_order = false;
  std::vector<std::size_t> shape;
  std::size_t data_offset = 0;  //!< bytes from the start of the file to the first element

  std::size_t count() const {
    return std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>());
  }

  //! The data's size in bytes for elements of `element_size` bytes, or nothing when it
  //! does not fit in 64 bits (a forged shape must not wrap around to a small size that
  //! happens to match the file, then allocate the unwrapped one).
  std::optional<std::size_t> data_bytes(std::size_t element_size) const {
    std::size_t bytes = element_size;
    for (const auto d : shape) {
      if (d != 0 && bytes > std::numeric_limits<std::size_t>::max() / d) return std::nullopt;
      bytes *= d;
    }
    return bytes;
  }
};

inline constexpr char npy_magic[] = "\x93NUMPY";

//! Finds `'key':` in the header dictionary and returns the text after the colon.
inline std::string_view npy_value_after(std::string_view dict, std::string_view key, const std::string& where) {
  std::string quoted(1, '\'');  // built by appending: gcc 12 warns falsely (-Wrestrict) on "'" + std::string(key)
  quoted.append(key).push_back('\'');
  auto pos = dict.find(quoted);
  if (pos == std::string_view::npos) throw input_error(where, "not a valid .npy file (header has no " + quoted + ")");
  pos = dict.find(':', pos + quoted.size());
  if (pos == std::string_view::npos) throw input_error(where, "not a valid .npy file (malformed header)");
  auto rest = dict.substr(pos + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  return rest;
}

//! Parses the header from the first bytes of a file (`bytes` must hold at least the header).
inline npy_header parse_npy_header(const char* bytes, std::size_t available, const std::string& where) {
  if (available < 10 || std::memcmp(bytes, npy_magic, 6) != 0)
    throw input_error(where, "not a .npy file (bad magic bytes)");
  const auto major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_len = 0, prefix = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (available < 12) throw input_error(where, "truncated .npy header");
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= static_cast<std::size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    prefix = 12;
  } else {
    throw input_error(where, "unsupported .npy version " + std::to_string(major));
  }
  if (prefix + header_len > available) throw input_error(where, "truncated .npy header");
  const std::string_view dict(bytes + prefix, header_len);

  npy_header h;
  h.data_offset = prefix + header_len;
  auto descr = npy_value_after(dict, "descr", where);
  if (descr.empty() || descr.front() != '\'') throw input_error(where, "not a valid .npy file (bad descr)");
  descr.remove_prefix(1);
  h.descr = std::string(descr.substr(0, descr.find('\'')));
  auto fortran = npy_value_after(dict, "fortran_order", where);
  h.fortran_order = fortran.substr(0, 4) == "True";
  auto shape = npy_value_after(dict, "shape", where);
  if (shape.empty() || shape.front() != '(') throw input_error(where, "not a valid .npy file (bad shape)");
  shape = shape.substr(1, shape.find(')') - 1);
  std::size_t value = 0;
  bool in_number = false;
  for (char c : shape) {
    if (c >= '0' && c <= '9') {
      if (value > (std::numeric_limits<std::size_t>::max() - 9) / 10)
        throw input_error(where, "not a valid .npy file (a dimension of the shape is too large)");
      value = value * 10 + static_cast<std::size_t>(c - '0');
      in_number = true;
    } else if (c == ',') {
      if (in_number) h.shape.push_back(value);
      value = 0;
      in_number = false;
    } else if (c != ' ' && c != 'L') {
      throw input_error(where, "not a valid .npy file (bad shape)");
    }
  }
  if (in_number) h.shape.push_back(value);
  return h;
}

inline std::string dtype_name(std::string_view descr) {
  if (descr == "<f4") return "float32";
  if (descr == "<f8") return "float64";
  if (descr == "<i4") return "int32";
  if (descr == "<i8") return "int64";
  if (descr == "|u1") return "uint8";
  return std::string(descr);
}

//! Checks dtype, order and rank of a parsed header against what the caller expects.
template <class T>
void check_npy_header(const npy_header& h, std::size_t rank, const std::string& where) {
  if (h.descr != npy_descr<T>())
    throw input_error(where, "dtype is " + dtype_name(h.descr) + ", expected " + dtype_name(npy_descr<T>()));
  if (h.fortran_order) throw input_error(where, "array is in Fortran order; save it in C order (np.ascontiguousarray)");
  if (h.shape.size() != rank)
    throw input_error(where, "array has rank " + std::to_string(h.shape.size()) + ", expected " + std::to_string(rank));
}

template <class T>
void check_finite(const T* data, std::size_t count, const std::string& where) {
  if constexpr (std::is_floating_point_v<T>) {
    for (std::size_t i = 0; i < count; ++i)
      if (!std::isfinite(data[i]))
        throw input_error(where, "non-finite value (NaN or infinity) at element " + std::to_string(i));
  }
}

//! The header bytes for `shape`, padded with spaces so that the data starts at a
//! multiple of 64 bytes, or at exactly `fixed_size` bytes when that is given (so a
//! streaming writer can rewrite the header with a larger row count in place).
template <class T>
std::string make_npy_header(const std::vector<std::size_t>& shape, std::size_t fixed_size = 0) {
  std::string dict = "{'descr': '" + std::string(npy_descr<T>()) + "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    dict += std::to_string(shape[i]);
    if (shape.size() == 1 || i + 1 < shape.size()) dict += ", ";
  }
  dict += "), }";
  const std::size_t unpadded = 10 + dict.size() + 1;
  const std::size_t total = fixed_size ? fixed_size : (unpadded + 63) / 64 * 64;
  if (total < unpadded || total - 10 > 0xffff) throw std::logic_error("npy header does not fit");
  dict.append(total - unpadded, ' ');
  dict += '\n';
  std::string header(npy_magic, 6);
  header += '\x01';
  header += '\x00';
  const auto len = static_cast<std::uint16_t>(dict.size());
  header += static_cast<char>(len & 0xff);
  header += static_cast<char>(len >> 8);
  return header + dict;
}

}  // namespace detail

//! Reads a whole `.npy` file of element type T and rank R.
template <class T, std::size_t R>
xt::xtensor<T, R> read_npy(const std::filesystem::path& path) {
  const std::string where = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error(where, "cannot open (no such file, or not readable)");
  in.seekg(0, std::ios::end);
  const auto file_size = static_cast<std::size_t>(in.tellg());
  in.seekg(0);
  std::vector<char> head(std::min<std::size_t>(file_size, 65536 + 12));
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  const auto h = detail::parse_npy_header(head.data(), head.size(), where);
  detail::check_npy_header<T>(h, R, where);
  // Checked against the file's size before anything is allocated.
  const auto promised = h.data_bytes(sizeof(T));
  if (!promised || file_size < h.data_offset || file_size - h.data_offset < *promised)
    throw input_error(where, "truncated: header promises " +
                                 (promised ? std::to_string(*promised) : std::string("more than 2^64")) +
                                 " data bytes, file has " +
                                 std::to_string(file_size < h.data_offset ? 0 : file_size - h.data_offset));
  const std::size_t bytes = *promised;
  if (file_size > h.data_offset + bytes) throw input_error(where, "trailing bytes after the array data");
  std::array<std::size_t, R> shape{};
  std::copy(h.shape.begin(), h.shape.end(), shape.begin());
  xt::xtensor<T, R> out = xt::xtensor<T, R>::from_shape(shape);
  in.seekg(static_cast<std::streamoff>(h.data_offset));
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(bytes));
  if (!in) throw input_error(where, "read failed");
  detail::check_finite(out.data(), h.count(), where);
  return out;
}

//! Writes `array` to `path` atomically.
template <class T, std::size_t R>
void write_npy(const std::filesystem::path& path, const xt::xtensor<T, R>& array) {
  std::vector<std::size_t> shape(array.shape().begin(), array.shape().end());
  atomic_write(path, [&](std::ostream& out) {
    const std::string header = detail::make_npy_header<T>(shape);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(reinterpret_cast<const char*>(array.data()), static_cast<std::streamsize>(array.size() * sizeof(T)));
  });
}

//! A read-only memory map of a 2-D float32 `.npy` file: the rows are paged in by the
//! kernel as they are read, so a file larger than memory can be reduced.
class mapped_npy {
 public:
  //! Maps and validates `path`. With `check_finite` every value is scanned once for NaN/Inf.
  explicit mapped_npy(const std::filesystem::path& path, bool check_finite = true) : where_(path.string()) {
    fd_ = ::open(path.c_str(), O_RDONLY);
    if (fd_ < 0) throw input_error(where_, "cannot open (no such file, or not readable)");
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
      close();
      throw input_error(where_, "cannot stat");
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ == 0) {
      close();
      throw input_error(where_, "not a .npy file (empty)");
    }
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (p == MAP_FAILED) {
      close();
      throw input_error(where_, "cannot memory-map");
    }
    base_ = static_cast<const char*>(p);
    try {
      const auto h = detail::parse_npy_header(base_, size_, where_);
      detail::check_npy_header<float>(h, 2, where_);
      const auto bytes = h.data_bytes(sizeof(float));
      if (!bytes || size_ - h.data_offset < *bytes)  // parse_npy_header checked data_offset <= size_
        throw input_error(where_, "truncated: file is shorter than its header says");
      if (size_ - h.data_offset > *bytes) throw input_error(where_, "trailing bytes after the array data");
      if (h.data_offset % alignof(float) != 0) throw input_error(where_, "misaligned data offset");
      view_ = matrix_cref(reinterpret_cast<const float*>(base_ + h.data_offset), h.shape[0], h.shape[1]);
      ::madvise(const_cast<char*>(base_), size_, MADV_SEQUENTIAL);
      if (check_finite) detail::check_finite(view_.data(), view_.rows() * view_.cols(), where_);
    } catch (...) {
      close();
      throw;
    }
  }
  mapped_npy(const mapped_npy&) = delete;
  mapped_npy& operator=(const mapped_npy&) = delete;
  ~mapped_npy() { close(); }

  matrix_cref view() const noexcept { return view_; }
  const std::string& path() const noexcept { return where_; }

 private:
  void close() noexcept {
    if (base_) ::munmap(const_cast<char*>(base_), size_);
    if (fd_ >= 0) ::close(fd_);
    base_ = nullptr;
    fd_ = -1;
  }
  std::string where_;
  int fd_ = -1;
  const char* base_ = nullptr;
  std::size_t size_ = 0;
  matrix_cref view_;
};

//! Appends rows of `cols` values of type T to a 2-D `.npy` file. Rows go to a temporary
//! sibling; `close()` writes the final row count into the header and renames the file
//! into place. Destroyed without `close()` (an exception, a kill), nothing appears under
//! the real name.
template <class T>
class npy_writer {
 public:
  npy_writer(std::filesystem::path path, std::size_t cols)
      : path_(std::move(path)), tmp_(io::detail::temporary_sibling(path_)), cols_(cols) {
    if (path_.has_parent_path()) {
      std::error_code ec;
      std::filesystem::create_directories(path_.parent_path(), ec);
      if (ec) throw input_error(path_.string(), "cannot create folder: " + ec.message());
    }
    errno = 0;
    out_.open(tmp_, std::ios::binary | std::ios::trunc);
    if (!out_) throw input_error(path_.string(), io::detail::io_problem("cannot open for writing", errno));
    const auto header = detail::make_npy_header<T>({0, cols_}, header_size);
    out_.write(header.data(), static_cast<std::streamsize>(header.size()));
  }
  npy_writer(const npy_writer&) = delete;
  npy_writer& operator=(const npy_writer&) = delete;
  ~npy_writer() {
    if (committed_) return;
    if (out_.is_open()) out_.close();
    std::error_code ignored;
    std::filesystem::remove(tmp_, ignored);  // also after a close() that failed half-way
  }

  //! Appends `n` rows stored contiguously at `rows`.
  void append(const T* rows, std::size_t n) {
    errno = 0;
    out_.write(reinterpret_cast<const char*>(rows), static_cast<std::streamsize>(n * cols_ * sizeof(T)));
    if (!out_) throw input_error(path_.string(), io::detail::io_problem("write failed", errno));
    rows_ += n;
  }
  std::size_t rows() const noexcept { return rows_; }
  std::size_t cols() const noexcept { return cols_; }

  //! Finishes the file: the header gets the row count, then the rename makes it visible.
  void close() {
    const auto header = detail::make_npy_header<T>({rows_, cols_}, header_size);
    errno = 0;
    out_.seekp(0);
    out_.write(header.data(), static_cast<std::streamsize>(header.size()));
    out_.flush();
    if (!out_) throw input_error(path_.string(), io::detail::io_problem("write failed", errno));
    out_.close();
    if (!out_) throw input_error(path_.string(), io::detail::io_problem("write failed", errno));
    std::error_code ec;
    std::filesystem::rename(tmp_, path_, ec);
    if (ec) throw input_error(path_.string(), "cannot rename the finished file into place: " + ec.message());
    committed_ = true;
  }

 private:
  static constexpr std::size_t header_size = 128;  // room for any row count
  std::filesystem::path path_;
  std::filesystem::path tmp_;
  std::size_t cols_;
  std::size_t rows_ = 0;
  bool committed_ = false;
  std::ofstream out_;
};

}  // namespace actatlas::io
