// actatlas: the command line. Every flag is declared once here (CLI11: name, help,
// default, validator), bound to a member of cli::settings that mirrors a library option,
// and added to the subcommands that take it; `--help` is generated from these
// declarations. Groups of flags shared by several subcommands (collection, UMAP, t-SNE,
// rendering, device, seed, quiet) are each declared by one function below.
//
// Next to each flag that sets a library option is the name of that option as the
// library's errors spell it (input_error::where(), e.g. "filter::rank.cls"): an error
// about it is printed with the flag, "actatlas class-atlas: --class (filter::rank.cls): …".
//
// This file includes no LibTorch: the commands are in atlas_commands.cpp and
// experiment_commands.cpp, which turn the settings into pipelines.
//
// Exit statuses: 0 success, 2 bad usage or bad input (one line naming the flag or file and
// the problem), 1 an internal error (any other exception).
#include <CLI/CLI.hpp>

#include <actatlas/demo/procedural_images.hpp>
#include <actatlas/error.hpp>
#include <actatlas/io/image_folder.hpp>
#include <actatlas/io/interrupt.hpp>
#include <actatlas/experiments/cell_statistics.hpp>
#include <actatlas/metric.hpp>
#include <actatlas/presets.hpp>
#include <actatlas/progress.hpp>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "options.hpp"

namespace cli {
//! The dataset comparison's commands (experiment_commands.cpp).
int run_compare_datasets(const settings&);
int run_demo_compare_datasets(const settings&);
}  // namespace cli

namespace {

using cli::settings;

//! One subcommand being declared: its CLI11 app, its settings, and which flag binds which
//! library option.
struct command {
  CLI::App* app = nullptr;
  std::unique_ptr<settings> s = std::make_unique<settings>();
  cli::flag_bindings bindings;
  std::function<int(const settings&)> run;
};

//! Records that `opt` sets the library options `library` (as input_error::where() names them).
CLI::Option* binds(command& c, CLI::Option* opt, std::initializer_list<const char*> library) {
  for (const char* name : library) c.bindings[name] = opt->get_name();
  return opt;
}

constexpr auto no_limit = std::numeric_limits<std::size_t>::max();

//! A whole number in [low, high], checked on the text (so "abc" and "-1" read as what they
//! are, not as a range error or a wrapped unsigned).
CLI::Validator whole(long long low = 0, unsigned long long high = no_limit) {
  auto check = [low, high](std::string& text) -> std::string {
    const char* first = text.data();
    const char* last = first + text.size();
    if (!text.empty() && text[0] == '-') {
      long long v = 0;
      const auto [end, ec] = std::from_chars(first, last, v);
      if (ec != std::errc() || end != last) return "expects a whole number, got '" + text + "'";
      if (v < low) return "must be at least " + std::to_string(low) + ", got " + text;
      return {};
    }
    unsigned long long v = 0;
    const auto [end, ec] = std::from_chars(first, last, v);
    if (ec != std::errc() || end != last) return "expects a whole number, got '" + text + "'";
    if (low > 0 && v < static_cast<unsigned long long>(low)) return "must be at least " + std::to_string(low) + ", got " + text;
    if (v > high) return "must be at most " + std::to_string(high) + ", got " + text;
    return {};
  };
  return CLI::Validator(check, "");
}

//! A real number ≥ low (or > low when `strict`).
CLI::Validator real(double low = 0, bool strict = false) {
  auto check = [low, strict](std::string& text) -> std::string {
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size()) return "expects a number, got '" + text + "'";
    if (strict ? !(v > low) : !(v >= low))
      return std::string("must be ") + (strict ? "greater than " : "at least ") + std::to_string(low) + ", got " + text;
    return {};
  };
  return CLI::Validator(check, "");
}

//! One of `names` (in the order given), mapped to its value; help shows "a|b|c".
template <class T>
CLI::Option* choices(CLI::Option* opt, const std::vector<std::pair<std::string, T>>& names) {
  std::string list;
  for (const auto& [name, value] : names) {
    if (!list.empty()) list += '|';  // appended apart: see docs/decisions.md on GCC 12's -Wstringop-overflow
    list += name;
  }
  auto check = [names, list](std::string& text) -> std::string {
    for (const auto& [name, value] : names)
      if (name == text) {
        text = std::to_string(static_cast<long long>(value));
        return {};
      }
    return "expects " + list + ", got '" + text + "'";
  };
  return opt->transform(CLI::Validator(check, ""))->type_name(list)->default_str(names.front().first);
}

//! A check that the text is one of `names`.
CLI::Validator one_of_check(const std::vector<std::string>& names) {
  std::string list;
  for (const auto& n : names) {
    if (!list.empty()) list += '|';
    list += n;
  }
  return CLI::Validator(
      [names, list](std::string& text) -> std::string {
        for (const auto& n : names)
          if (n == text) return {};
        return "expects " + list + ", got '" + text + "'";
      },
      "");
}

//! One of `names`, kept as text.
CLI::Option* one_of(CLI::Option* opt, const std::vector<std::string>& names) {
  std::string list;
  for (const auto& n : names) {
    if (!list.empty()) list += '|';
    list += n;
  }
  return opt->check(one_of_check(names))->type_name(list);
}

// ---- Files -------------------------------------------------------------------------------

CLI::Option* model_option(command& c) {
  return c.app->add_option("--model", c.s->model,
                           "model file: TorchScript archive (tools/export_torchvision.py), InceptionV1 .safetensors, "
                           "or a demo model")
      ->required();
}
CLI::Option* images_option(command& c) {
  return c.app->add_option("--images", c.s->images, "folder of JPEG/PNG/BMP images, searched recursively")->required();
}
CLI::Option* run_option(command& c) {
  return c.app->add_option("--run", c.s->run, "a collection folder (actatlas collect), with attributions for the experiments")
      ->required();
}
CLI::Option* out_option(command& c, const std::string& help) { return c.app->add_option("--out", c.s->out, help); }

// ---- Shared groups -------------------------------------------------------------------------

void add_device(command& c) {
  binds(c, one_of(c.app->add_option("--device", c.s->device, "auto (CUDA when available), cpu or cuda"), {"auto", "cpu", "cuda"})
               ->capture_default_str(),
        {"device"});
}

void add_seed(command& c) {
  c.app->add_option("--seed", c.s->seed, "the one seed: sampled positions, layout and icons")->capture_default_str()->check(whole());
}

void add_quiet(command& c) { c.app->add_flag("--quiet", c.s->quiet, "no progress output (results and errors still print)"); }

//! The collection flags (collect_options and the sampler's).
void add_collection(command& c, bool with_layer = true) {
  auto* g = c.app->add_option_group("collection", "collection (collect_options and the sampler)");
  auto& s = *c.s;
  if (with_layer)
    binds(c, g->add_option("--layer", s.collect.layer, "the layer to sample (an unknown name lists the layers)")->required(),
          {"collect_options.layer"});
  binds(c,
        g->add_option("--samples", s.collect.samples,
                      "stop after N samples (0: one pass over the images); the random sampler visits the images again, "
                      "at new positions, until N are collected")
            ->capture_default_str()
            ->check(whole()),
        {"collect_options.samples"});
  choices(g->add_option("--sampler", s.sampler, "one random position per image (edges excluded), the centre, or every position"),
          std::vector<std::pair<std::string, cli::sampler_choice>>{
              {"random", cli::sampler_choice::random}, {"center", cli::sampler_choice::center}, {"all", cli::sampler_choice::all}});
  binds(c, g->add_option("--margin", s.margin, "rows/columns excluded at each edge (random: 1, all: 0)")->check(whole()),
        {"sampler::random_position.margin", "sampler::all_positions.margin"});
  binds(c, g->add_option("--batch", s.collect.batch, "images per forward pass")->capture_default_str()->check(whole(1)),
        {"collect_options.batch"});
  binds(c,
        g->add_option("--shard-batches", s.collect.shard_batches, "batches per shard on disk: what an interruption can lose")
            ->capture_default_str()
            ->check(whole(1)),
        {"collect_options.shard_batches"});
  binds(c,
        g->add_option("--decode-threads", s.collect.decode_threads, "image decoding threads (0: half the hardware threads)")
            ->capture_default_str()
            ->check(whole(0, 1024)),
        {"collect_options.decode_threads"});
  g->add_flag_callback("--no-attribution", [&s] { s.collect.attribution = false; },
                       "skip the attributions (one forward pass per batch)");
  g->add_flag("--keep-shards", s.collect.keep_shards, "keep the shards/ folder after merging");
}

//! --reducer (alias --method): `first` is the default.
void add_reducer_choice(command& c, cli::reducer_choice first) {
  auto& s = *c.s;
  s.reducer = first;
  std::vector<std::pair<std::string, cli::reducer_choice>> names{{"umap", cli::reducer_choice::umap},
                                                                 {"tsne", cli::reducer_choice::tsne}};
  if (first == cli::reducer_choice::tsne) std::swap(names[0], names[1]);
  choices(c.app->add_option("--reducer,--method", s.reducer, "the reducer of the layout"), names);
}

//! The flags UMAP and t-SNE share; each sets both reducers' option.
void add_layout_shared(command& c, bool with_tsne) {
  auto* g = c.app->add_option_group("layout", with_tsne ? "layout (both reducers)" : "layout");
  auto& s = *c.s;
  binds(c,
        one_of(g->add_option_function<std::string>(
                   "--metric", [&s](const std::string& m) { s.umap.metric = s.tsne.metric = actatlas::parse_metric(m); },
                   "distance between activations"),
               {"euclidean", "cosine"})
            ->default_str(std::string(actatlas::to_string(s.umap.metric))),
        {"metric", "reducer::umap.metric", "reducer::tsne.metric"});
  choices(g->add_option_function<actatlas::knn_options::method>(
              "--knn", [&s](const actatlas::knn_options::method& m) { s.umap.knn.algorithm = s.tsne.knn = m; },
              "neighbour search"),
          std::vector<std::pair<std::string, actatlas::knn_options::method>>{
              {"automatic", actatlas::knn_options::method::automatic},
              {"exact", actatlas::knn_options::method::exact},
              {"nn-descent", actatlas::knn_options::method::nn_descent},
              {"hnsw", actatlas::knn_options::method::hnsw}});
  binds(c,
        g->add_option_function<double>(
             "--learning-rate",
             [&s](const double& r) {
               s.umap.learning_rate = static_cast<float>(r);
               s.tsne.learning_rate = r;
             },
             with_tsne ? "UMAP: 1; t-SNE: 0 = automatic (sklearn's convention)" : "UMAP's (1)")
            ->check(real()),
        {"reducer::umap.learning_rate", "reducer::tsne.learning_rate"});
  g->add_option_function<unsigned>(
       "--threads", [&s](const unsigned& t) { s.umap.threads = s.tsne.threads = t; }, "layout threads (0: all cores)")
      ->default_str("0")
      ->check(whole(0, 4096));
}

void add_umap(command& c) {
  auto* g = c.app->add_option_group("UMAP", "UMAP (reducer::umap::options)");
  auto& u = c.s->umap;
  binds(c,
        g->add_option("--neighbors", u.n_neighbors, "neighbours, the point itself included (the article: 50, cosine)")
            ->capture_default_str()
            ->check(whole(2)),
        {"reducer::umap.n_neighbors"});
  binds(c, g->add_option("--min-dist", u.min_dist, "min_dist (the article: 0.05)")->capture_default_str()->check(real()),
        {"reducer::umap.min_dist"});
  binds(c, g->add_option("--epochs", u.epochs, "0 = 500 up to 10,000 rows, else 200")->capture_default_str()->check(whole()),
        {"reducer::umap.epochs"});
}

void add_tsne(command& c) {
  auto* g = c.app->add_option_group("t-SNE", "t-SNE (reducer::tsne::options)");
  auto& t = c.s->tsne;
  binds(c, g->add_option("--perplexity", t.perplexity, "effective neighbours")->capture_default_str()->check(real(0, true)),
        {"reducer::tsne.perplexity"});
  binds(c, g->add_option("--iterations", t.iterations, "gradient steps")->capture_default_str()->check(whole(1)),
        {"reducer::tsne.iterations"});
  binds(c, g->add_option("--early-exaggeration", t.early_exaggeration, "P's factor early on")->capture_default_str()->check(real(0, true)),
        {"reducer::tsne.early_exaggeration"});
  binds(c, g->add_option("--theta", t.theta, "Barnes-Hut opening angle (0: exact)")->capture_default_str()->check(real()),
        {"reducer::tsne.theta"});
}

//! Binning, objective, icons and pictures: the render stage's flags.
void add_render(command& c) {
  auto& s = *c.s;
  auto* g = c.app->add_option_group("render", "render (binning::multires_grid, the objective, icon_options, picture_options)");
  binds(c,
        g->add_option("--grid", s.binning.base_grid, "cells per side at the coarsest level")
            ->capture_default_str()
            ->check(whole(1, actatlas::binning::max_grid_size)),
        {"binning::multires_grid.base_grid", "binning.grid_size"});
  binds(c, g->add_option("--levels", s.binning.levels, "zoom levels: G, 2G, 4G, … cells a side")->capture_default_str()->check(whole(1)),
        {"binning::multires_grid.levels"});
  binds(c, g->add_option("--min-count", s.binning.min_count, "cells with fewer samples get no icon")->capture_default_str()->check(whole()),
        {"binning::multires_grid.min_count"});
  choices(g->add_option("--objective", s.objective, "what the icons maximise: lucid's dot·max(0.1,cos)^4, the dot product, "
                                                    "or the article's (h·v)^5/‖h‖^4"),
          std::vector<std::pair<std::string, cli::objective_choice>>{{"cossim", cli::objective_choice::cossim},
                                                                     {"dot", cli::objective_choice::dot},
                                                                     {"article", cli::objective_choice::article}});
  binds(c, g->add_option("--icon-size", s.icons.size, "icon side in pixels")->capture_default_str()->check(whole(8, 4096)),
        {"icon_options.size"});
  binds(c, g->add_option("--steps", s.icons.steps, "optimisation steps per icon (the article: 1024)")->capture_default_str()->check(whole(1)),
        {"icon_options.steps"});
  binds(c, g->add_option("--attempts", s.icons.attempts, "restarts, the best kept (the article: 4)")->capture_default_str()->check(whole(1)),
        {"icon_options.attempts"});
  binds(c, g->add_option("--prune-after", s.icons.prune_after,
                         "with several attempts: all run this many steps, only the best goes on (0: off; "
                         "32 with 4 x 1024 kept the objective within about 2% at 3.7x fewer steps, docs/inversion.md)")
               ->capture_default_str()->check(whole(0)),
        {"icon_options.prune_after"});
  binds(c, g->add_option("--icon-batch", s.icons.batch, "icons optimised together")->capture_default_str()->check(whole(1)),
        {"icon_options.batch"});
  g->add_flag_callback("--no-whiten", [&s] { s.icons.whiten = false; },
                       "do not whiten directions (advisable for very early layers)");
  binds(c, g->add_option("--cell-px", s.pictures.canvas.cell_px, "pixels per cell in atlas.png")->capture_default_str()->check(whole(4, 1024)),
        {"picture_options.canvas.cell_px"});
  choices(g->add_option("--sizing", s.pictures.canvas.sizing, "icon size by density: √ (the article's), log, or full cells"),
          std::vector<std::pair<std::string, actatlas::render::icon_sizing>>{
              {"density", actatlas::render::icon_sizing::density},
              {"log", actatlas::render::icon_sizing::log_density},
              {"full", actatlas::render::icon_sizing::full}});
}

// ---- The subcommands --------------------------------------------------------------------

using declare_fn = void (*)(command&);

void declare_collect(command& c) {
  model_option(c);
  images_option(c);
  out_option(c, "run folder: activations.npy (N×D), attributions.npy (N×C), provenance.csv, collection.json")->required();
  add_collection(c);
  add_device(c);
  add_seed(c);
  add_quiet(c);
  c.run = cli::run_collect;
}

void declare_layout(command& c) {
  auto& s = *c.s;
  c.app->add_option("--in", s.in, "N×D float32 activations (memory-mapped); a sibling attributions.npy is read when needed")
      ->required();
  out_option(c, "N×dims float32 layout (written atomically, with its record .json beside it)")->required();
  add_reducer_choice(c, cli::reducer_choice::umap);
  // Declared before the reducers' flags: CLI11 applies a subcommand's own options before
  // those of its groups, so the flags below override the preset's values.
  c.app->add_option_function<std::string>(
       "--preset",
       [&s](const std::string& p) {
         s.preset = p;
         if (p == "article") s.umap = actatlas::reducer::umap::options::article();
         else if (p == "article-early") s.umap = actatlas::reducer::umap::options::article_early_layers();
         else s.tsne = actatlas::reducer::tsne::lucid_class();
       },
       "starting options: article (UMAP: 50 neighbours, min_dist 0.05, cosine), article-early (UMAP: 200, 0.05, "
       "euclidean), lucid-class (t-SNE: cosine, perplexity 50, learning rate 10); the flags below override it")
      ->check(one_of_check({"article", "article-early", "lucid-class"}))
      ->type_name("article|article-early|lucid-class");
  c.app->add_option("--dims", s.dims, "output dimensions")->capture_default_str()->check(whole(1, 2));
  add_layout_shared(c, true);
  add_umap(c);
  add_tsne(c);
  add_seed(c);
  add_quiet(c);
  c.run = cli::run_layout;
}

void declare_render(command& c) {
  auto& s = *c.s;
  model_option(c)->description("the model the activations came from");
  run_option(c);
  c.app->add_option("--layout", s.layout, "the layout (default RUN/layout.npy)");
  out_option(c, "where the atlas goes (default RUN/atlas)");
  add_render(c);
  add_device(c);
  add_seed(c);
  add_quiet(c);
  c.run = cli::run_render;
}

void declare_atlas(command& c) {
  model_option(c);
  images_option(c);
  out_option(c, "output: OUT/run (collection, layout) and OUT/atlas (pictures, viewer)")->required();
  add_collection(c);
  add_reducer_choice(c, cli::reducer_choice::umap);
  add_layout_shared(c, true);
  add_umap(c);
  add_tsne(c);
  add_render(c);
  add_device(c);
  add_seed(c);
  add_quiet(c);
  c.run = cli::run_atlas;
}

// What both demos share: the demo CNN's layer, and light icons (icon_options::draft(): one
// attempt of 256 steps) at 64 px.
void demo_defaults(settings& s) {
  s.collect.layer = "conv4";
  s.collect.batch = 64;
  const auto draft = actatlas::icon_options::draft();
  s.icons.steps = draft.steps;
  s.icons.attempts = draft.attempts;
  s.icons.size = 64;
  s.pictures.canvas.cell_px = 64;
}

void cache_option(command& c) {
  c.app->add_option("--cache", c.s->cache, "where the trained demo model is kept (default $ACTATLAS_CACHE, else ~/.cache/actatlas)");
}

void declare_demo(command& c) {
  auto& s = *c.s;
  // The demo's lighter defaults, so that it runs on a laptop CPU in minutes; the
  // article's reference settings are --steps 1024 --attempts 4 --icon-size 80.
  s.out = "actatlas-demo";
  demo_defaults(s);
  s.collect.samples = 20000;
  // Two levels, so that the viewer's zoom shows a finer grid (issue 18 item 5): 10×10, then
  // 20×20, the demo's old single level; the coarse level adds about a third of the icons.
  s.binning.base_grid = 10;
  s.binning.levels = 2;
  out_option(c, "output folder")->capture_default_str();
  cache_option(c);
  c.app->add_option("--per-class", s.per_class, "procedural images per class")->capture_default_str()->check(whole(1));
  add_collection(c, false);
  binds(c, c.app->add_option("--layer", s.collect.layer, "conv1 | conv2 | conv3 | conv4")->capture_default_str(), {"collect_options.layer"});
  add_reducer_choice(c, cli::reducer_choice::umap);
  add_layout_shared(c, true);
  add_umap(c);
  add_tsne(c);
  add_render(c);
  add_device(c);
  add_seed(c);
  add_quiet(c);
  c.run = cli::run_demo;
}

void declare_class_atlas(command& c) {
  auto& s = *c.s;
  // The preset's settings are the defaults (grid 8, lucid's t-SNE).
  const auto preset = actatlas::presets::class_atlas(actatlas::filter::rank{});
  s.binning = preset.binning().opts();
  s.tsne = preset.reducer().opts();
  s.top_n = actatlas::filter::magnitude::options{}.top_n;
  model_option(c)->description("the model the activations came from");
  run_option(c);
  binds(c, c.app->add_option("--class", s.cls, "the class, by name (as the model lists it) or logit index")->required(),
        {"filter::rank.cls", "filter::magnitude.cls"});
  binds(c,
        choices(c.app->add_option("--filter", s.filter,
                                  "rank: largest attribution is to C; magnitude: top N by attribution to C; both: rank, "
                                  "then the top N of those"),
                std::vector<std::pair<std::string, cli::filter_choice>>{{"rank", cli::filter_choice::rank},
                                                                        {"magnitude", cli::filter_choice::magnitude},
                                                                        {"both", cli::filter_choice::both}}),
        {"filter::rank", "filter::magnitude"});
  binds(c, c.app->add_option("--top-n", s.top_n, "N for magnitude and both")->capture_default_str()->check(whole(1)),
        {"filter::rank.top_n", "filter::magnitude.top_n"});
  add_reducer_choice(c, cli::reducer_choice::tsne);
  out_option(c, "the atlas folder (default class-atlas-C), with its layout.npy");
  add_layout_shared(c, true);
  add_umap(c);
  add_tsne(c);
  add_render(c);
  add_device(c);
  add_seed(c);
  add_quiet(c);
  c.run = cli::run_class_atlas;
}

void declare_compare(command& c) {
  auto& s = *c.s;
  s.binning = actatlas::presets::comparison(0, 1).binning().opts();
  s.top_n = actatlas::filter::class_pair::options{}.top_n;
  model_option(c)->description("the model the activations came from");
  run_option(c);
  binds(c, c.app->add_option("--classes", s.classes, "the two classes A,B, by name or logit index (A on the left)")->required(),
        {"filter::class_pair.class_a", "filter::class_pair.class_b", "reducer::comparison.class_b"});
  binds(c, c.app->add_option("--top-n", s.top_n, "samples per class")->capture_default_str()->check(whole(1)),
        {"filter::class_pair.top_n"});
  out_option(c, "the atlas folder (default compare-A-B); OUT/compare.png is the atlas under a header naming the sides");
  add_render(c);
  add_device(c);
  add_seed(c);
  add_quiet(c);
  c.run = cli::run_compare;
}

// compare-datasets: cli::settings has no members of its own for the two folders, so --a
// and --b are kept in `images` and `in`, --names in `classes` (as --classes: "A,B") and
// --top in `top_n`; the command (experiment_commands.cpp) reads them back from there.
void declare_compare_datasets(command& c) {
  auto& s = *c.s;
  s.top_n = actatlas::dataset_comparison_options{}.top;
  model_option(c);
  c.app->add_option("--a", s.images, "folder of set A's images (searched recursively): orange in the picture")->required();
  c.app->add_option("--b", s.in, "folder of set B's images: purple in the picture")->required();
  c.app->add_option("--names", s.classes, "the sets' names in the legend and summary, A,B (default: the folders' names)");
  c.app->add_option("--top", s.top_n, "cells listed on each side")->capture_default_str()->check(whole(1));
  out_option(c, "output: OUT/run-a, OUT/run-b, OUT/run (both sets as one run, its layout) and OUT/atlas (compare.png, "
                "summary.md, cells with counts, ratio and q, viewer)")
      ->required();
  add_collection(c);
  add_reducer_choice(c, cli::reducer_choice::umap);
  add_layout_shared(c, true);
  add_umap(c);
  add_tsne(c);
  add_render(c);
  add_device(c);
  add_seed(c);
  add_quiet(c);
  c.run = cli::run_compare_datasets;
}

void declare_demo_compare_datasets(command& c) {
  auto& s = *c.s;
  // The demo's lighter icons (as `demo`), one 12×12 level, and a smaller set: 300 images a
  // class for A (4,800) and the shifted B (4,500), one sample each.
  s.out = "actatlas-demo-compare";
  demo_defaults(s);
  s.binning.base_grid = 12;
  s.per_class = 300;
  s.top_n = actatlas::dataset_comparison_options{}.top;
  out_option(c, "output folder: OUT/images-a, OUT/images-b and the comparison (as compare-datasets)")->capture_default_str();
  cache_option(c);
  c.app->add_option("--per-class", s.per_class, "images per class in A (B: none of boat, fish, lifebuoy; twice as many night)")
      ->capture_default_str()
      ->check(whole(1));
  c.app->add_option("--top", s.top_n, "cells listed on each side")->capture_default_str()->check(whole(1));
  add_collection(c, false);
  binds(c, c.app->add_option("--layer", s.collect.layer, "conv1 | conv2 | conv3 | conv4")->capture_default_str(), {"collect_options.layer"});
  add_reducer_choice(c, cli::reducer_choice::umap);
  add_layout_shared(c, true);
  add_umap(c);
  add_tsne(c);
  add_render(c);
  add_device(c);
  add_seed(c);
  add_quiet(c);
  c.run = cli::run_demo_compare_datasets;
}

void declare_aligned(command& c) {
  auto& s = *c.s;
  s.binning.base_grid = 12;
  model_option(c);
  images_option(c);
  binds(c, c.app->add_option("--layers", s.layers, "the two layers L1,L2")->required(), {"aligned_atlas.layer_a", "aligned_atlas.layer_b"});
  binds(c, c.app->add_option("--samples", s.collect.samples, "paired samples, one random spot per image visit (0: one per image)")->capture_default_str()->check(whole()),
        {"aligned_atlas.samples"});
  binds(c, c.app->add_option("--batch", s.collect.batch, "images per forward pass")->capture_default_str()->check(whole(1)),
        {"aligned_atlas.batch"});
  c.app->add_flag("--baseline", s.baseline,
                  "also lay each layer out alone (two independent UMAPs) and print the mean displacement there");
  out_option(c, "output folder (default aligned-L1-L2)");
  add_layout_shared(c, false);
  add_umap(c);
  add_render(c);
  add_device(c);
  add_seed(c);
  add_quiet(c);
  c.run = cli::run_aligned;
}

void declare_patch_attack(command& c) {
  auto& s = *c.s;
  model_option(c);
  c.app->add_option("--patch", s.patch, "the patch image (PNG, JPEG, …; an atlas icon: ATLAS/icons/G/x_y.png)")->required();
  binds(c, c.app->add_option("--images", s.images, "images (DIR/A/*.png, or a folder of class-A images)")->required(),
        {"patch_attack.images"});
  binds(c, c.app->add_option("--source", s.source, "the class the images belong to (name or index)")->required(),
        {"patch_attack.source"});
  binds(c, c.app->add_option("--target", s.target, "the class the patch argues for (name or index)")->required(),
        {"patch_attack.target"});
  binds(c, c.app->add_option("--sizes", s.sizes, "patch sides as fractions of the image side, or in pixels with 'px'")->capture_default_str(),
        {"patch_attack_options.sizes"});
  binds(c, c.app->add_option("--fixed-size", s.fixed_size, "the size of the fixed placement (default: the middle size)"),
        {"patch_attack_options.fixed_size"});
  binds(c, one_of(c.app->add_option("--fixed-corner", s.fixed_corner, "the corner of the fixed placement"),
                  {"bottom-right", "bottom-left", "top-right", "top-left"})
               ->capture_default_str(),
        {"patch_attack_options.fixed_corner"});
  c.app->add_option("--noise-seed", s.noise_seed, "the noise patches' seed")->capture_default_str()->check(whole());
  c.app->add_option("--batch", s.collect.batch, "images per forward pass")->capture_default_str()->check(whole(1));
  s.out = "patch-attack";
  out_option(c, "where the CSV and Markdown go")->capture_default_str();
  add_device(c);
  add_quiet(c);
  c.run = cli::run_patch_attack;
}

void declare_train_demo(command& c) {
  auto& s = *c.s;
  const auto d = cli::demo_model_default_options();
  s.train_seed = d.seed;
  s.train_steps = d.steps;
  s.train_threads = d.threads;
  out_option(c, "where the model and the contact sheet go (default: $ACTATLAS_CACHE, else $XDG_CACHE_HOME/actatlas, else ~/.cache/actatlas)");
  c.app->add_option("--seed", s.train_seed, "seed of the weights and the training images")->capture_default_str()->check(whole());
  c.app->add_option("--steps", s.train_steps, "optimiser steps (fewer is faster and less accurate)")->capture_default_str()->check(whole(1, 1000000));
  c.app->add_option("--threads", s.train_threads, "LibTorch threads while training (part of what fixes the weights)")->capture_default_str()->check(whole(1, 1024));
  c.app->add_flag("--force", s.force, "train again even when a model is cached");
  add_quiet(c);
  c.run = cli::run_train_demo;
}

void declare_make_images(command& c) {
  auto& s = *c.s;
  s.per_class = 100;
  s.train_seed = 1;
  s.image_size = actatlas::demo::default_image_size;
  out_option(c, "destination folder (created when missing)")->required();
  c.app->add_option("--per-class", s.per_class, "images per class")->capture_default_str()->check(whole(1));
  c.app->add_option("--seed", s.train_seed, "seed of the images; the same seed writes the same files")->capture_default_str()->check(whole());
  c.app->add_option("--size", s.image_size, "image side in pixels")->capture_default_str()->check(whole(16, 4096));
  add_quiet(c);
  c.run = cli::run_make_images;
}

struct command_spec {
  const char* name;
  const char* summary;
  declare_fn declare;
};

const command_spec specs[] = {
    {"demo", "the embedded demo, end to end (no download)", declare_demo},
    {"atlas", "collect + layout + render in one command (the pipeline's atlas)", declare_atlas},
    {"collect", "sample a layer over an image folder (activations, attributions)", declare_collect},
    {"layout", "N×D activations to an N×2 (or N×1) layout by UMAP or t-SNE", declare_layout},
    {"render", "collection + layout → atlas picture, zoom levels, cells JSON, viewer", declare_render},
    {"class-atlas", "the class activation atlas of one class (rank/magnitude filter, t-SNE)", declare_class_atlas},
    {"compare", "two classes side by side: attribution difference × 1-D t-SNE", declare_compare},
    {"compare-datasets", "two image folders in one atlas: where one set has more of a concept (counts, ratio, q)",
     declare_compare_datasets},
    {"demo-compare-datasets", "compare-datasets on the demo set against a shifted one (no water, twice the night)",
     declare_demo_compare_datasets},
    {"aligned", "atlases of two layers in one layout, hover linked (beyond the article)", declare_aligned},
    {"patch-attack", "paste a patch into a class's images: flip rates to a target vs noise", declare_patch_attack},
    {"train-demo", "train (or reuse) the demo CNN on the procedural images", declare_train_demo},
    {"make-images", "write the procedural demo image set as a PNG folder", declare_make_images},
};

//! "actatlas <command>: <problem>" on stderr, without repeating the command when the
//! message already starts with it.
void print_error(const std::string& name, std::string message, const char* kind = "") {
  if (message.rfind(name + ": ", 0) == 0) message.erase(0, name.size() + 2);
  std::fprintf(stderr, "actatlas %s: %s%s\n", name.c_str(), kind, message.c_str());
}

//! A library error in the command line's terms: "--class (filter::rank.cls): …" when
//! its where() is a library option a flag binds; as it is otherwise (a file, a flag).
std::string in_flag_terms(const actatlas::input_error& e, const cli::flag_bindings& bindings) {
  const std::string message = e.what();
  const auto it = bindings.find(e.where());
  if (it == bindings.end()) return message;
  const std::string prefix = actatlas::printable_line(e.where()) + ": ";
  const std::string problem = message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message;
  return it->second + " (" + e.where() + "): " + problem;
}

//! CLI11's messages, in the program's voice where they read oddly.
std::string parse_error_text(const CLI::ParseError& e) { return e.what(); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"actatlas: activation atlases for image classifiers", "actatlas"};
  app.require_subcommand(1);
  app.footer("`actatlas <command> --help` shows a command's options.");
  std::vector<command> commands;
  commands.reserve(std::size(specs));
  std::uint64_t max_image_pixels = actatlas::io::max_image_pixels();
  for (const auto& spec : specs) {
    auto& c = commands.emplace_back();
    c.app = app.add_subcommand(spec.name, spec.summary);
    c.s->command = spec.name;
    // Extras are collected, then rejected with a message that names them (below).
    c.app->allow_extras();
    spec.declare(c);
    // Every command that decodes images people give it: the decompression-bomb limit.
    if (std::string_view(spec.name) != "layout" && std::string_view(spec.name) != "train-demo" &&
        std::string_view(spec.name) != "make-images")
      c.app->add_option("--max-image-pixels", max_image_pixels,
                        "an image whose header declares more pixels (width × height) is skipped before decoding")
          ->capture_default_str()
          ->check(whole(1));
  }

  // An unknown command is one line, as every other usage error.
  if (argc >= 2 && argv[1][0] != '-') {
    bool known = false;
    for (const auto& spec : specs) known = known || std::string(argv[1]) == spec.name;
    if (!known) {
      std::fprintf(stderr, "actatlas: unknown command '%s' (see actatlas --help)\n", argv[1]);
      return 2;
    }
  }
  if (argc < 2) {
    std::fprintf(stderr, "%s", app.help().c_str());
    return 2;
  }
  const std::string name = argv[1][0] == '-' ? std::string() : std::string(argv[1]);
  command* chosen = nullptr;
  for (auto& c : commands)
    if (c.s->command == name) chosen = &c;

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (chosen) print_error(name, parse_error_text(e));
    else std::fprintf(stderr, "actatlas: %s (see actatlas --help)\n", e.what());
    return 2;
  }
  if (!chosen) return 2;
  // A stray argument is an error that names it: `--images photos/*` expands to several paths,
  // and only the first would be used.
  if (const auto extra = chosen->app->remaining(); !extra.empty()) {
    const std::string& first = extra.front();
    if (first.rfind("-", 0) == 0 && first.size() > 1)
      print_error(name, "unknown option " + first.substr(0, first.find('=')) + " (see actatlas " + name + " --help)");
    else
      print_error(name, "unexpected argument '" + first +
                            "' (each option takes one value: quote a pattern or name a folder; see actatlas " + name +
                            " --help)");
    return 2;
  }
  const settings& s = *chosen->s;
  actatlas::set_progress_quiet(s.quiet);
  actatlas::io::max_image_pixels() = max_image_pixels;
  // Started by torchrun (or with its variables) as one of several processes: only the
  // commands that split their work across ranks may run so (docs/distributed.md).
  if (const char* world = std::getenv("WORLD_SIZE"); world && std::string(world) != "1" && std::string(world) != "" &&
                                                      name != "collect" && name != "layout" && name != "render" &&
                                                      name != "atlas") {
    print_error(name, "runs as one process, but WORLD_SIZE=" + std::string(world) +
                          " makes this one of several (only collect, layout, render and atlas run as a job)");
    return 2;
  }
  // Ctrl-C and SIGTERM stop the stage at its next safe point (io/interrupt.hpp).
  actatlas::io::install_interrupt_handlers();
  try {
    return chosen->run(s);
  } catch (const actatlas::rank_stopped& e) {
    print_error(name, e.what());
    return e.exit_status();
  } catch (const actatlas::io::interrupted& e) {
    print_error(name, std::string(e.what()) + ": stopped; what was finished is kept, the same command resumes");
    return e.exit_status();
  } catch (const cli::usage_error& e) {
    print_error(name, e.what());
    return 2;
  } catch (const actatlas::input_error& e) {
    print_error(name, in_flag_terms(e, chosen->bindings));
    return 2;
  } catch (const std::exception& e) {
    print_error(name, e.what(), "internal error: ");
    return 1;
  }
}
