/// @file experiments/run_folder.hpp
/// The experiments build their atlases from run folders, the same files `actatlas collect`
/// and `actatlas layout` write (docs/output-format.md): activations.npy, attributions.npy,
/// provenance.csv, collection.json and layout.npy. A class atlas, a comparison or one of
/// two aligned atlases writes the samples it kept and its layout as a run folder of its
/// own, so that `actatlas render --run` can re-render it (other grid, other icons) without
/// redoing the filter, the reducer or the collection, and so that the renderer is one and
/// the same for every atlas.
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

//! The lines of provenance.csv after its header, verbatim.
inline std::vector<std::string> read_provenance_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw input_error(path.string(), "cannot open (no such file, or not readable)");
  std::string line;
  std::getline(in, line);
  if (line.rfind("image,x,y", 0) != 0) throw input_error(path.string(), "not a provenance file (header must be image,x,y)");
  std::vector<std::string> lines;
  while (std::getline(in, line))
    if (!line.empty()) lines.push_back(line);
  return lines;
}

//! Reads a finished collection folder (attributions are required: every experiment filters
//! or labels by them).
inline run_data read_run(const std::filesystem::path& run) {
  run_data r;
  const auto json_path = run / "collection.json";
  std::ifstream in(json_path);
  if (!in) throw input_error(json_path.string(), "cannot open: is " + run.string() + " a collection folder?");
  r.collection = nlohmann::json::parse(in, nullptr, false);
  if (r.collection.is_discarded()) throw input_error(json_path.string(), "not valid JSON");
  if (!r.collection.value("complete", false))
    throw input_error(json_path.string(), "the collection is not finished; run `actatlas collect` again to resume it");
  if (!std::filesystem::exists(run / "attributions.npy"))
    throw input_error((run / "attributions.npy").string(), "missing: the experiments need attributions (collect without --no-attribution)");
  r.activations = io::read_npy<float, 2>(run / "activations.npy");
  r.attributions = io::read_npy<float, 2>(run / "attributions.npy");
  r.provenance = read_provenance_lines(run / "provenance.csv");
  const std::size_t n = r.activations.shape(0);
  if (r.attributions.shape(0) != n) throw input_error((run / "attributions.npy").string(), "row count differs from activations.npy");
  if (r.provenance.size() != n) throw input_error((run / "provenance.csv").string(), "row count differs from activations.npy");
  return r;
}

//! The samples `rows` of `r`, as a run of their own.
inline run_data subset(const run_data& r, const std::vector<std::uint32_t>& rows) {
  run_data out;
  out.activations = gather_rows(r.activations, rows);
  out.attributions = gather_rows(r.attributions, rows);
  for (auto i : rows) out.provenance.push_back(r.provenance.at(i));
  out.collection = r.collection;
  return out;
}

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
