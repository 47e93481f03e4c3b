// graft transfer's recipes spelled out as flags: what `--recipe NAME` resolves to for each head and
// phase setting. bench/recipes.mjs measures these (so it also measures a graft that predates a
// change of them); test/transfer/recipes.test.ts checks that they agree with src/transfer/recipes.ts.
export const RECIPE_FLAGS = {
  writeup: ['--head-pool', 'flatten', '--frozen-optimizer', 'sgd', '--frozen-lr', '0.001', '--frozen-epochs', '4', '--unfreeze', 'all', '--optimizer', 'sgd', '--lr', '0.0001', '--epochs', '16', '--bn', 'auto'],
  'keras-guide': ['--head-pool', 'avg', '--head-dropout', '0.2', '--frozen-optimizer', 'adam', '--frozen-lr', '0.001', '--frozen-epochs', '20', '--unfreeze', 'all', '--optimizer', 'adam', '--lr', '0.00001', '--epochs', '10', '--bn', 'frozen'],
  fastai: ['--head-pool', 'avg', '--head-hidden', '512', '--head-dropout', '0.5', '--frozen-optimizer', 'adamw', '--frozen-lr', '0.002', '--weight-decay', '0.01', '--frozen-epochs', '1', '--frozen-schedule', 'one-cycle:0.99', '--unfreeze', 'all', '--optimizer', 'adamw', '--lr', '0.001', '--epochs', '3', '--schedule', 'one-cycle', '--discriminative', '0.01', '--bn', 'train'],
};
