/// @file actatlas.hpp
/// The umbrella header for everything that needs no LibTorch: the pipeline type, its
/// policies and presets, the CPU stages and the file formats. The model side is under
/// actatlas/torch/: <actatlas/torch/pipeline.hpp> gives the pipeline its collect, render
/// and atlas stages, <actatlas/torch/models.hpp> opens models.
#pragma once

#include "version.hpp"

#include "error.hpp"
#include "matrix.hpp"
#include "metric.hpp"
#include "progress.hpp"

#include "concepts/binning.hpp"
#include "concepts/filter.hpp"
#include "concepts/objective.hpp"
#include "concepts/reducer.hpp"
#include "concepts/roles.hpp"
#include "concepts/sampler.hpp"

#include "sampler/all_positions.hpp"
#include "sampler/center_position.hpp"
#include "sampler/random_position.hpp"

#include "reducer/comparison.hpp"
#include "reducer/tsne.hpp"
#include "reducer/umap.hpp"

#include "binning/grid.hpp"
#include "binning/multires_grid.hpp"

#include "filter/class_pair.hpp"
#include "filter/magnitude.hpp"
#include "filter/no_filter.hpp"
#include "filter/rank.hpp"

#include "objective/article_cossim.hpp"
#include "objective/cossim_dot.hpp"
#include "objective/dot.hpp"

#include "cells.hpp"
#include "compare_axis.hpp"
#include "layout/normalise.hpp"
#include "pipeline.hpp"
#include "presets.hpp"
#include "stage_options.hpp"
#include "stage_record.hpp"

#include "io/atomic_file.hpp"
#include "io/cells_json.hpp"
#include "io/npy.hpp"
