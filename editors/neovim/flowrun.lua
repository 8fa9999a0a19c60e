-- flowrun lsp for Neovim (0.8+) with nvim-lspconfig: put this in your config
-- (e.g. ~/.config/nvim/after/plugin/flowrun.lua).
local configs = require('lspconfig.configs')
local util = require('lspconfig.util')

if not configs.flowrun then
  configs.flowrun = {
    default_config = {
      cmd = { 'flowrun', 'lsp' },
      filetypes = { 'yaml' },
      root_dir = util.root_pattern('connector.yaml'),
      single_file_support = false,
    },
  }
end
require('lspconfig').flowrun.setup({})
