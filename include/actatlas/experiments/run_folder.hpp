/// @file experiments/run_folder.hpp
/// An experiment that collects by itself (the aligned atlas's paired collection of two
/// layers) writes each layer's samples and layout as a run folder, the same files
/// `actatlas collect` and `actatlas layout` write (docs/output-format.md), so that the
/// pipeline's render stage, and `actatlas render --run` later, draw it like any atlas.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../error.hpp"
#include "../io/atomic_file.hpp"
#include "../io/npy.hpp"
#include "../matrix.hpp"

namespace actatlas::experiments {

//! A run folder's data, held in memory.
struct run_data {
  matrix activations;                   //!< N×D
  matrix attributions;                  //!< N×C (0 columns when the run has none)
  std::vector<std::string> provenance;  //!< N lines of provenance.csv, verbatim (image,x,y)
  nlohmann::json collection;            //!< collection.json
};

//! Writes `r` and its `layout` (N×2) as a finished run folder `dir`; `about` is recorded in
//! collection.json under "experiment" (what was kept, from where, how it was laid out).
inline void write_run(const std::filesystem::path& dir, const run_data& r, const matrix& layout,
                      const nlohmann::json& about = {}) {
  const std::size_t n = r.activations.shape(0);
  if (layout.shape(0) != n || layout.shape(1) != 2)
    throw input_error("layout", "must be " + std::to_string(n) + "×2, got " + std::to_string(layout.shape(0)) + "×" +
                                    std::to_string(layout.shape(1)));
  std::filesystem::create_directories(dir);
  io::write_npy(dir / "activations.npy", r.activations);
  if (r.attributions.shape(1) > 0) io::write_npy(dir / "attributions.npy", r.attributions);
  io::atomic_write(dir / "provenance.csv", [&](std::ostream& out) {
    out << "image,x,y\n";
    for (const auto& line : r.provenance) out << line << '\n';
  });
  io::write_npy(dir / "layout.npy", layout);
  nlohmann::json c = r.collection;
  c["complete"] = true;
  c["result"]["samples"] = n;  // the rows of this folder, not of the collection it came from
  if (!about.is_null()) c["experiment"] = about;
  io::atomic_write(dir / "collection.json", [&](std::ostream& out) { out << c.dump(2) << '\n'; });
}

}  // namespace actatlas::experiments
