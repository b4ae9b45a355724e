#!/bin/sh
# Refreshes the GraphiQL page's bundles from their npm packages (exact versions), so the
# page needs no CDN. Run from the repository root: sh api/assets/graphiql/fetch.sh
# Then bump ASSET_VERSION in api/src/routes/assets.rs (browsers cache these for a year).
set -eu
GRAPHIQL=3.8.3
REACT=18.3.1
out=api/assets/graphiql
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm init -y >/dev/null && npm install --no-audit --no-fund \
    "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" "graphql@16" >/dev/null)
n="$work/node_modules"
gzip -9 -n -c "$n/graphiql/graphiql.min.js" > "$out/graphiql.min.js.gz"
gzip -9 -n -c "$n/graphiql/graphiql.min.css" > "$out/graphiql.min.css.gz"
cp "$n/react/umd/react.production.min.js" "$n/react-dom/umd/react-dom.production.min.js" "$out/"
cp "$n/graphiql/LICENSE" "$out/licenses/graphiql.LICENSE"
cp "$n/react/LICENSE" "$out/licenses/react.LICENSE"
cp "$n/react-dom/LICENSE" "$out/licenses/react-dom.LICENSE"
