/// @file torch/model_fingerprint.hpp
/// A content fingerprint of a model's weights, for cache keys: two models with the same
/// tensors (names, dtypes, shapes and bytes) get the same fingerprint wherever they were
/// loaded from, and changing one element of one weight changes it. Keying cached icons on
/// it, instead of the model file's name, means a model retrained and saved under the same
/// name does not reuse icons rendered with the old weights.
///
/// The fingerprint is the SHA-256 (FIPS 180-4) of every tensor `classifier::named_state()`
/// lists, taken in name order (so the order a model enumerates them in does not matter),
/// each tensor fed as: its name, its dtype's name, its rank and sizes, then its elements'
/// bytes (row-major, copied to the CPU first, so the device it lives on does not matter).
/// The bytes are native-endian: fingerprints compare between runs on one kind of machine,
/// which is what a cache needs.
///
/// @code
/// auto model = actatlas::load_model("model.pt");
/// const std::string key = actatlas::model_fingerprint(*model);   // 64 hex digits, or ""
/// @endcode
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "classifier.hpp"

namespace actatlas {

namespace detail {

//! Incremental SHA-256 (FIPS 180-4).
class sha256 {
 public:
  void update(const void* data, std::size_t size) {
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    length_ += size;
    while (size > 0) {
      const std::size_t take = std::min(size, block_.size() - used_);
      std::memcpy(block_.data() + used_, bytes, take);
      used_ += take;
      bytes += take;
      size -= take;
      if (used_ == block_.size()) {
        compress();
        used_ = 0;
      }
    }
  }

  void update(const std::string& s) { update(s.data(), s.size()); }

  //! Feeds a 64-bit value as 8 little-endian bytes (the same on every machine).
  void update_u64(std::uint64_t v) {
    std::uint8_t b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(v >> (8 * i));
    update(b, 8);
  }

  //! The digest as 64 lower-case hex digits. Ends the computation.
  std::string hex_digest() {
    const std::uint64_t bits = length_ * 8;
    const std::uint8_t one = 0x80, zero = 0;
    update(&one, 1);
    while (used_ != 56) update(&zero, 1);
    std::uint8_t tail[8];
    for (int i = 0; i < 8; ++i) tail[i] = static_cast<std::uint8_t>(bits >> (56 - 8 * i));  // big-endian length
    update(tail, 8);
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::uint32_t word : state_)
      for (int shift = 28; shift >= 0; shift -= 4) out += digits[(word >> shift) & 0xF];
    return out;
  }

 private:
  static std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

  void compress() {
    static constexpr std::uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    std::uint32_t w[64];
    for (int i = 0; i < 16; ++i)
      w[i] = std::uint32_t(block_[4 * i]) << 24 | std::uint32_t(block_[4 * i + 1]) << 16 |
             std::uint32_t(block_[4 * i + 2]) << 8 | std::uint32_t(block_[4 * i + 3]);
    for (int i = 16; i < 64; ++i) {
      const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3], e = state_[4], f = state_[5],
                  g = state_[6], h = state_[7];
    for (int i = 0; i < 64; ++i) {
      const std::uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      const std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    state_[0] += a, state_[1] += b, state_[2] += c, state_[3] += d;
    state_[4] += e, state_[5] += f, state_[6] += g, state_[7] += h;
  }

  std::array<std::uint32_t, 8> state_ = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                         0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::array<std::uint8_t, 64> block_{};
  std::size_t used_ = 0;
  std::uint64_t length_ = 0;
};

}  // namespace detail

//! The SHA-256 of every tensor the model lists in `named_state()` (see the file comment),
//! as 64 hex digits. An empty string when the model lists none (a classifier that does not
//! override named_state()): there is no content to key on, and callers must fall back to
//! something else (or not cache).
inline std::string model_fingerprint(const classifier& model) {
  auto state = model.named_state();
  if (state.empty()) return {};
  std::sort(state.begin(), state.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  detail::sha256 hash;
  hash.update(std::string("actatlas-model-fingerprint-1"));  // a version, should the recipe change
  hash.update_u64(state.size());
  for (const auto& [name, tensor] : state) {
    hash.update_u64(name.size());
    hash.update(name);
    torch::Tensor t = tensor.detach();
    if (t.is_sparse()) t = t.to_dense();
    t = t.to(torch::kCPU).contiguous();
    const std::string dtype = c10::toString(t.scalar_type());
    hash.update_u64(dtype.size());
    hash.update(dtype);
    hash.update_u64(static_cast<std::uint64_t>(t.dim()));
    for (std::int64_t s : t.sizes()) hash.update_u64(static_cast<std::uint64_t>(s));
    hash.update_u64(t.nbytes());
    if (t.nbytes() > 0) hash.update(t.data_ptr(), t.nbytes());
  }
  return hash.hex_digest();
}

}  // namespace actatlas
