/// @file io/cells_json.hpp
/// The JSON form of one grid level's cells: what the viewer and a person reading the
/// output see. Per cell: grid position, count, density, the top-k classes by mean
/// attribution (index, name, value) and the member sample ids (rows of the activation
/// set, and of the provenance file, so a cell leads back to its image patches).
/// Mean activations are not written: they are large and recomputed from
/// `activations.npy` and the members when needed.
///
/// @code
/// {"grid": 20, "samples": 20000, "classes": 12,
///  "cells": [{"ix": 3, "iy": 0, "count": 41, "density": 0.82,
///             "top": [{"class": 4, "name": "boat", "attribution": 0.31}, ...],
///             "members": [17, 230, ...]}, ...]}
/// @endcode
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../cells.hpp"
#include "../error.hpp"
#include "atomic_file.hpp"

namespace actatlas::io {

struct cells_json_options {
  std::size_t top_k = 5;        //!< classes listed per cell
  bool include_members = true;  //!< member ids (needed by the viewer's patch view)
};

//! One level as JSON. `class_names` may be empty (then names are omitted).
inline nlohmann::json cells_to_json(const grid_level& level, const std::vector<cell_summary>& cells,
                                    const std::vector<std::string>& class_names = {},
                                    const cells_json_options& o = {}) {
  nlohmann::json j;
  j["grid"] = level.grid;
  j["samples"] = level.samples;
  j["classes"] = cells.empty() ? 0 : cells.front().mean_attribution.size();
  auto& out = j["cells"] = nlohmann::json::array();
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const auto& s = cells[i];
    nlohmann::json c;
    c["ix"] = s.ix;
    c["iy"] = s.iy;
    c["count"] = s.count;
    c["density"] = s.density;
    auto& top = c["top"] = nlohmann::json::array();
    for (auto [cls, value] : s.top_classes(o.top_k)) {
      nlohmann::json t{{"class", cls}, {"attribution", value}};
      if (cls < class_names.size()) t["name"] = class_names[cls];
      top.push_back(std::move(t));
    }
    if (o.include_members && i < level.cells.size()) c["members"] = level.cells[i].members;
    out.push_back(std::move(c));
  }
  return j;
}

//! Writes one level atomically.
inline void write_cells_json(const std::filesystem::path& path, const grid_level& level,
                             const std::vector<cell_summary>& cells, const std::vector<std::string>& class_names = {},
                             const cells_json_options& o = {}) {
  const auto j = cells_to_json(level, cells, class_names, o);
  atomic_write(path, [&](std::ostream& out) { out << j.dump() << '\n'; });
}

//! Reads the cells of a level back (positions, counts, members); the summaries carry
//! count and density but no means.
inline grid_level read_cells_json(const std::filesystem::path& path) {
  const std::string where = path.string();
  std::ifstream in(path);
  if (!in) throw input_error(where, "cannot open (no such file, or not readable)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
    grid_level level;
    level.grid = j.at("grid").get<std::size_t>();
    level.samples = j.at("samples").get<std::size_t>();
    for (const auto& c : j.at("cells")) {
      cell out;
      out.ix = c.at("ix").get<std::uint32_t>();
      out.iy = c.at("iy").get<std::uint32_t>();
      if (out.ix >= level.grid || out.iy >= level.grid)
        throw input_error(where, "cell (" + std::to_string(out.ix) + ", " + std::to_string(out.iy) +
                                     ") lies outside the " + std::to_string(level.grid) + "-cell grid");
      if (c.contains("members")) out.members = c.at("members").get<std::vector<std::uint32_t>>();
      level.cells.push_back(std::move(out));
    }
    return level;
  } catch (const nlohmann::json::exception& e) {
    throw input_error(where, std::string("not a cells file: ") + e.what());
  }
}

}  // namespace actatlas::io
