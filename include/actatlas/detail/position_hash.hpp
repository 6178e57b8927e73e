/// @file detail/position_hash.hpp
/// A counter-based random source for samplers: the k-th number for (seed, image, h, w) is
/// a hash of those values, so a position never depends on how many were drawn before it.
/// That is what lets a killed collection resume mid-way with the very same samples.
#pragma once

#include <cstdint>

namespace actatlas::detail {

//! SplitMix64's finaliser (Steele, Lea, Flood 2014): a bijection of 64-bit words whose
//! output bits each depend on every input bit.
constexpr std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

//! Hashes a few words into one, in order (a word's position matters).
constexpr std::uint64_t hash_words(std::uint64_t seed, std::uint64_t a, std::uint64_t b, std::uint64_t c,
                                   std::uint64_t d) noexcept {
  std::uint64_t h = splitmix64(seed);
  h = splitmix64(h ^ a);
  h = splitmix64(h ^ b);
  h = splitmix64(h ^ c);
  return splitmix64(h ^ d);
}

//! An integer in [0, n) from a 64-bit hash, by Lemire's multiply-shift (no modulo bias
//! worth speaking of for the n of a feature map: below 2^-40).
__extension__ using uint128 = unsigned __int128;  // GCC and Clang; __extension__ silences -Wpedantic
constexpr std::uint64_t below(std::uint64_t hash, std::uint64_t n) noexcept {
  return static_cast<std::uint64_t>((static_cast<uint128>(hash) * n) >> 64);
}

}  // namespace actatlas::detail
