#!/usr/bin/perl
# ndjson_lines.pl N [ID_PREFIX]: writes N NDJSON events (FileTransferProgress
# with seq 0..N-1 and id PREFIX<seq>) to stdout, for streamed-body tests.
use strict;
use warnings;

my ($n, $prefix) = (shift // 1000, shift // 's-');
my $now = time() * 1000;
select((select(STDOUT), $| = 0)[0]);
for my $i (0 .. $n - 1) {
    print qq({"type":"FileTransferProgress","time":$now,"seq":$i,"transferId":"t-1",)
        . qq("bytesDone":$i,"id":"$prefix$i"}\n);
}
