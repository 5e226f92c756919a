#!/bin/sh
# The layering rule: kdproto/ includes nothing from monitor/ or ui/; monitor/ nothing from ui/.
bad=0
for f in kdproto/*.[ch]; do
    [ -f "$f" ] || continue
    for h in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
        for d in monitor ui; do [ -f "$d/$h" ] && { echo "layering: $f includes $d/$h"; bad=1; }; done
    done
done
for f in monitor/*.[ch]; do
    [ -f "$f" ] || continue
    for h in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
        [ -f "ui/$h" ] && { echo "layering: $f includes ui/$h"; bad=1; }
    done
done
exit $bad
