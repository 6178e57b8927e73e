// The actatlas program's settings: what the command line parsed, as the library's own
// options structs. main.cpp declares every flag once (CLI11) and binds it to a member
// here; the commands (atlas_commands.cpp, experiment_commands.cpp) turn the settings into
// pipelines. This header includes no LibTorch, so main.cpp compiles without it.
//
// Defaults: every member that mirrors a library option is initialised from the library's
// options struct (`collect_options{}`, `icon_options{}`, `reducer::umap::options{}`, …),
// so `--help` shows the library's defaults and there is one set of them. The exceptions
// are written where they are made (the one `--seed`, 0; `--levels`, 1; the demo's
// lighter icons; the experiments' grids, taken from their presets).
#pragma once

#include <actatlas/binning/multires_grid.hpp>
#include <actatlas/reducer/tsne.hpp>
#include <actatlas/reducer/umap.hpp>
#include <actatlas/stage_options.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>

namespace cli {

//! Bad command-line usage found after parsing; printed as one line, exit status 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class sampler_choice { random, center, all };
enum class reducer_choice { umap, tsne };
enum class filter_choice { rank, magnitude, both };
enum class objective_choice { cossim, dot, article };

//! Everything one subcommand can be given. Each subcommand parses into its own instance.
struct settings {
  std::string command;

  // Files and folders.
  std::string model, images, out, run, layout, in;
  std::string device = "auto";
  bool quiet = false;
  //! The one seed: the sampler's, the reducers' and the icons' (the library's reducers
  //! default to 42 on their own; the program uses one seed for all, 0 unless given).
  std::uint64_t seed = 0;

  // Collection (the sampler is a policy; its margin is its option).
  actatlas::collect_options collect{};
  sampler_choice sampler = sampler_choice::random;
  int margin = -1;  //!< -1: the sampler's own default (random_position 1, all_positions 0)

  // Layout.
  reducer_choice reducer = reducer_choice::umap;
  std::string preset;
  std::size_t dims = 2;
  actatlas::reducer::umap::options umap{};
  actatlas::reducer::tsne::options tsne{};

  // Render: binning, objective, icons, pictures. One level unless asked: the pipeline's
  // default binning (binning::grid) is one level, and every extra level quadruples the icons.
  actatlas::binning::multires_grid::options binning{.levels = 1};
  objective_choice objective = objective_choice::cossim;
  actatlas::icon_options icons{};
  actatlas::picture_options pictures{};

  // Experiments.
  std::string cls, classes, layers;
  filter_choice filter = filter_choice::rank;
  std::size_t top_n = 2000;
  bool baseline = false;

  // Demo and its model.
  std::string cache;
  std::size_t per_class = 1250;
  int train_steps = 0, train_threads = 0;  //!< 0: demo_model_options' defaults
  std::uint64_t train_seed = 1;
  bool force = false;
  int image_size = 0;

  // patch-attack.
  std::string patch, source, target, sizes = "0.2,0.3,0.4", fixed_size, fixed_corner = "bottom-right";
  std::uint64_t noise_seed = 0;
};

//! The flag that binds each library option a subcommand exposes ("filter::rank.cls" →
//! "--class"), so that the library's errors, which name their own options, can be told
//! in the command line's terms.
using flag_bindings = std::map<std::string, std::string>;

//! The demo model's defaults (torch/demo_model.hpp's demo_model_options), for train-demo's
//! flags: defined beside the commands so that main.cpp needs no LibTorch.
struct demo_model_defaults {
  std::uint64_t seed;
  int steps, threads;
};
demo_model_defaults demo_model_default_options();

//! @name The commands, defined in the LibTorch translation units.
//! @{
int run_collect(const settings&);
int run_layout(const settings&);
int run_render(const settings&);
int run_atlas(const settings&);
int run_demo(const settings&);
int run_aligned(const settings&);
int run_class_atlas(const settings&);
int run_compare(const settings&);
int run_patch_attack(const settings&);
int run_train_demo(const settings&);
int run_make_images(const settings&);
//! @}

}  // namespace cli
