#!/bin/sh
# The nginx image's entrypoint: prepares the ring's directory on the volume
# shared with the batcher, then runs the command (nginx).
#
# nginx's master runs as root and creates the ring (mode 0660) when it reads
# its configuration; the batcher runs as www-data in its own container and
# must read and write it.  So the directory is www-data's and setgid: what
# root creates in it belongs to group www-data.  Docker copies the image's
# directory onto a new named volume, but not necessarily its setgid bit,
# and an existing volume keeps whatever it had: hence this, at every start.
# MCPU_RING_DIR is for docker/check.sh, which runs this outside a container.
set -eu

dir=${MCPU_RING_DIR:-/var/lib/mcpu}

mkdir -p "$dir"
chown www-data:www-data "$dir"
chmod 2770 "$dir"

# a ring an earlier start created before the directory was setgid
if [ -e "$dir/ring" ]; then
    chgrp www-data "$dir/ring"
fi

exec "$@"
