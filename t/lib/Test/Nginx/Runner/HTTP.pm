package Test::Nginx::Runner::HTTP;

# The client side of the t/lib runner: turn a block's request text into the
# bytes Test::Nginx sends, exchange them over one TCP connection, and parse
# what comes back.  Written from the behaviour described in
# shared/TEST-NGINX.md section 6, so that a request means the same bytes
# under this runner and under the real Test::Nginx::Socket.

use strict;
use warnings;

use IO::Select ();
use IO::Socket::INET ();
use Errno qw(EAGAIN EWOULDBLOCK EINTR);
use Time::HiRes qw(sleep);

# "Name: value" lines (a string) to CRLF header lines.  '#' lines are
# comments.  Also tells whether the request body is sent chunked, because
# then no Content-Length may be added.
sub parse_more_headers {
    my ($text) = @_;
    my ($out, $chunked) = ('', 0);
    for my $line (split /\n+/, $text // '') {
        next if $line =~ /^\s*#/;
        my ($key, $val) = split /:\s*/, $line, 2;
        $val //= '';
        $chunked = 1 if lc $key eq 'transfer-encoding' && $val eq 'chunked';
        $out .= "$key: $val\r\n";
    }
    return ($out, $chunked);
}

# One request as the real runner builds it: "METHOD URI VERSION" from the
# first line (URI defaults to /, version to HTTP/1.1), then Host and
# Connection unless more_headers has them, then more_headers, then an
# automatic Content-Length.  Only in that last case is the body trimmed:
# the real runner does exactly this, and tests rely on "abcdef\n" being
# sent as 6 bytes.
sub build_request {
    my (%a) = @_;    # text, more_headers, connection, host, name
    my $text = $a{text};
    die "$a{name} - the request is empty\n" unless defined $text && length $text;

    my ($first, $body) = $text =~ /\A([^\n]*\n?)(.*)\z/s;
    my ($meth, $uri, $ver) = $first =~ /^\s*(\S+) *(?:(\S+) *)?(?:(\S+) *)?\s*$/
        or die "$a{name} - request line is not 'METHOD [URI [VERSION]]': \"$first\"\n";
    $uri //= '/';
    $ver //= 'HTTP/1.1';

    my ($hdr, $chunked) = parse_more_headers($a{more_headers});
    my $len = '';
    if (!$chunked && $body ne '' && $hdr !~ /(?:^|\n)Content-Length:/) {
        $body =~ s/^\s+|\s+$//gs;
        $len = 'Content-Length: ' . length($body) . "\r\n";
    }

    my $head = "$meth $uri $ver\r\n";
    $head .= "Host: $a{host}\r\n" if $hdr !~ /(?:^|\n)Host:/i;
    $head .= "Connection: $a{connection}\r\n" if $hdr !~ /(?:^|\n)Connection/i;
    return $head . $hdr . $len . "\r\n" . $body;
}

# Send the pieces in order on one connection, half-close if asked, and read
# until the server closes or nothing happens for $timeout seconds (an idle
# timeout, as in the real runner).  Returns (bytes read, timed out?).
sub exchange {
    my (%a) = @_;    # port, pieces (array ref), timeout, shutdown (undef or how),
                     # delay (seconds between pieces: a client that pauses)
    my $sock;
    for (1 .. 20) {    # nginx is known to listen; this only rides out a busy backlog
        $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $a{port},
                                      Proto => 'tcp', Timeout => $a{timeout});
        last if $sock;
        sleep 0.05;
    }
    return (undef, 0, "cannot connect to 127.0.0.1:$a{port}: $!") unless $sock;
    $sock->blocking(0);

    local $SIG{PIPE} = 'IGNORE';    # nginx may answer (413, 400) and close before we finish writing
    my @pieces = @{ $a{pieces} };
    my ($buf, $off, $resp, $timed_out) = (shift(@pieces) // '', 0, '', 0);
    my $writing = 1;
    my $sel = IO::Select->new($sock);

    while (1) {
        my ($r, $w) = IO::Select->select($sel, $writing ? $sel : undef, undef, $a{timeout});
        if (!$r && !$w) {
            next if $! == EINTR;
            $timed_out = 1;
            last;
        }
        if ($w && @$w) {
            my $n = syswrite $sock, $buf, length($buf) - $off, $off;
            if (defined $n) {
                $off += $n;
                if ($off >= length $buf) {
                    if (@pieces) {
                        select(undef, undef, undef, $a{delay}) if $a{delay};
                        ($buf, $off) = (shift(@pieces), 0);
                    } else {
                        $writing = 0;
                        shutdown $sock, $a{shutdown} if defined $a{shutdown};
                    }
                }
            } elsif ($! != EAGAIN && $! != EWOULDBLOCK) {
                warn "write to nginx failed: $!\n";
                $writing = 0;
            }
        }
        if ($r && @$r) {
            my $n = sysread $sock, my $chunk, 65536;
            if (!defined $n) {
                next if $! == EAGAIN || $! == EWOULDBLOCK;
                warn "read from nginx failed: $!\n";
                last;
            }
            last if $n == 0;    # the server closed the connection: the normal end
            $resp .= $chunk;
        }
    }
    close $sock;
    return ($resp, $timed_out, undef);
}

# Parse one response from the front of $raw.  Returns a hash (code,
# headers, body, raw_headers) and whatever bytes follow it (the next
# pipelined response), or an error string when a chunked body is broken.
sub parse_response {
    my ($raw) = @_;
    my %res = (code => undef, headers => [], body => '', raw_headers => '');
    $res{raw_headers} = $1 if $raw =~ /\A(.*?\r\n)\r\n/s;    # status line + header lines

    my ($head, $body) = $raw =~ /\A(.*?)\r?\n\r?\n(.*)\z/s ? ($1, $2) : ($raw, '');
    my ($status, @lines) = split /\r?\n/, $head;
    $res{code} = $1 if defined $status && $status =~ m{^HTTP/\d+(?:\.\d+)?\s+(\d{3})\b};
    for my $line (@lines) {
        if ($line =~ /^[ \t]+(.*)/ && @{ $res{headers} }) {    # obsolete line folding
            $res{headers}[-1][1] .= " $1";
        } elsif ($line =~ /^([^:\s]+)\s*:\s*(.*?)\s*$/) {
            push @{ $res{headers} }, [$1, $2];
        }
    }
    my $code = $res{code} // 0;
    if ($code == 304 || $code == 101) {
        return (\%res, undef);
    }

    my $te = header(\%res, 'Transfer-Encoding');
    my $len = header(\%res, 'Content-Length');
    my $left;
    if (defined $te && $te eq 'chunked') {
        my $decoded = '';
        while (1) {
            if ($body =~ /\G0[ \t]*\r\n/gc) {
                $body =~ /\G(?:[^\r\n]+\r\n)*\r\n/gc    # trailers, then the final CRLF
                    or return (undef, undef, 'invalid chunked data received (no final CRLF)');
                $left = substr $body, pos $body;
                last;
            }
            $body =~ /\G[ \t]*([0-9A-Fa-f]+)[^\r\n]*\r\n/gc
                or return (undef, undef, 'invalid or incomplete chunked body');
            my ($size, $at) = (hex $1, pos $body);
            return (undef, undef, "chunk of $size bytes is truncated")
                if length($body) < $at + $size + 2 || substr($body, $at + $size, 2) ne "\r\n";
            $decoded .= substr $body, $at, $size;
            pos($body) = $at + $size + 2;
        }
        $res{body} = $decoded;
    } elsif (defined $len && $len =~ /^\d+$/ && length($body) > $len) {
        $left = substr $body, $len;
        $res{body} = substr $body, 0, $len;
    } else {
        $res{body} = $body;
    }
    $left = undef if defined $left && $left eq '';
    return (\%res, $left);
}

# A header's value; several headers of one name are joined with ", " (as
# HTTP::Headers does for the real runner).  undef when absent.
sub header {
    my ($res, $name) = @_;
    my @v = map { $_->[1] } grep { lc $_->[0] eq lc $name } @{ $res->{headers} };
    return @v ? join(', ', @v) : undef;
}

1;
