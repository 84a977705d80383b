package Test::Nginx::Socket;

# A small Test::Nginx::Socket for this project's t/*.t files.
#
# It runs the subset of the openresty Test::Nginx block format described in
# shared/TEST-NGINX.md, with the same parsing, the same generated
# nginx.conf, the same requests and the same number of assertions, so that
# a file passes (with the same plan) under both runners.  Unlike the real
# one it refuses sections it does not know, so a typo cannot pass silently.
#
#   prove -I t/lib t/            (from the repository root)
#
# Parsing is Test::Base's own (the real runner is built on it too): blocks,
# "--- name filters" and "--- name: value" lines, the default filters,
# ONLY/SKIP/LAST, and the Test::More functions it re-exports.  The lower
# case -base makes this package a Test::Base subclass without Spiffy's
# source filter, so the subs below are plain Perl.

use Test::Base -base;

use strict;
use warnings;

use File::Path qw(make_path);
use File::Spec ();
use List::Util qw(shuffle);
use Scalar::Util qw(looks_like_number);
use Time::HiRes qw(sleep);

use Test::Nginx::Runner::HTTP ();
use Test::Nginx::Runner::Server ();

our $VERSION = '0.01';

our @EXPORT = qw(
    run_tests repeat_each no_shuffle no_long_string log_level
    master_on master_off master_process_enabled workers worker_connections
    timeout html_dir server_root server_port env_to_nginx no_root_location
    add_block_preprocessor check_accum_error_log bail_out config_preamble
);

# Sections this runner implements; anything else dies (see check_sections).
my %Sections = map { $_ => 1 } qw(
    ONLY SKIP LAST
    config http_config main_config request more_headers error_code
    response_body response_body_like response_headers response_headers_like
    error_log no_error_log timeout wait log_level must_die
    pipelined_requests raw_request response_body_unlike error_code_like
    raw_response_headers_like grep_error_log grep_error_log_out abort
    ignore_response user_files init server_name shutdown
    raw_request_middle_delay
);
# Keys Test::Base keeps in a block hash besides the sections.
my %BlockInternals = map { $_ => 1 } qw(
    name description seq_num is_filtered blocks_object original_values
    _section_map _section_order
);

# Settings, with the real runner's defaults and environment variables.
our $RepeatEach        = 1;
our $NoShuffle         = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $NoLongString      = 0;
our $LogLevel          = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcess     = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $Workers           = 1;
our $WorkerConnections = 64;
our $Timeout           = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $Sleep             = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $NoRootLocation    = 0;
our $AccumErrorLog     = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG} || 0;
our $ConfigPreamble    = '';
our $Verbose           = $ENV{TEST_NGINX_VERBOSE} || 0;
our (@EnvToNginx, @Preprocessors);

our $ServerPort = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
our $ClientPort = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;
our $Randomize  = $ENV{TEST_NGINX_RANDOMIZE} || 0;
if ($Randomize) {    # lets several .t files run at once (prove -j)
    $ServerPort = $ClientPort = Test::Nginx::Runner::Server::free_port({});
}
# Absolute, or nginx could not find its paths (gotcha G6).
our $ServRoot = File::Spec->rel2abs($Randomize ? "t/servroot_$ServerPort"
                                    : $ENV{TEST_NGINX_SERVROOT} || 't/servroot');
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

my $Server;          # Test::Nginx::Runner::Server, made by run_tests
my $HaveConfig;      # some earlier block started nginx (blocks without config reuse it)
my $LogPos = 0;      # error.log offset: each check sees only the new lines
my $RandPorts = {};  # $TEST_NGINX_RAND_PORT_<n> of the current block

# ---- functions exported to the test file -------------------------------

sub repeat_each (@)            { $RepeatEach = shift if @_; $RepeatEach }
sub no_shuffle ()              { $NoShuffle = 1 }
sub no_long_string ()          { $NoLongString = 1 }
sub log_level (@)              { $LogLevel = shift if @_; $LogLevel }
sub master_on ()               { $MasterProcess = 'on' }
sub master_off ()              { $MasterProcess = 'off' }
sub master_process_enabled (@) { $MasterProcess = shift() ? 'on' : 'off' if @_; $MasterProcess }
sub workers (@)                { $Workers = shift if @_; $Workers }
sub worker_connections (@)     { $WorkerConnections = shift if @_; $WorkerConnections }
sub timeout (@)                { $Timeout = shift if @_; $Timeout }
sub server_port (@)            { $ServerPort = $ClientPort = shift if @_; $ServerPort }
sub server_root ()             { $ServRoot }
sub html_dir ()                { "$ServRoot/html" }
sub no_root_location ()        { $NoRootLocation = 1 }
sub check_accum_error_log ()   { $AccumErrorLog = 1 }
sub config_preamble ($)        { $ConfigPreamble = shift }
sub add_block_preprocessor (&) { unshift @Preprocessors, shift }

sub env_to_nginx (@) {
    die "env_to_nginx: no arguments\n" unless @_;
    for (@_) {
        die "env_to_nginx: bad argument '$_'\n" if !/^[A-Za-z_]/ || /\n/;
        push @EnvToNginx, $_;
    }
}

# Stop nginx, then abort the whole prove run.
sub bail_out (@) {
    $Server->stop if $Server;
    Test::More::BAIL_OUT(join '', @_);
}

sub run_tests () {
    # Config can use it; with TEST_NGINX_RANDOMIZE only the random port is right.
    $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort if $Randomize || !defined $ENV{TEST_NGINX_SERVER_PORT};
    my @blocks = Test::Base::blocks();    # list context also runs the filters
    check_sections($_) for @blocks;       # before any nginx runs: a typo stops the file

    my $binary = $ENV{TEST_NGINX_BINARY} || find_nginx()
        or bail_out("no nginx in PATH nor /usr/sbin/nginx; set TEST_NGINX_BINARY");
    $Server = Test::Nginx::Runner::Server->new(binary => $binary, root => $ServRoot,
        port => $ServerPort, timeout => $Timeout, verbose => $Verbose);
    $Server->stop_stale;

    # nginx has its own process group, so Ctrl-C does not reach it.  A
    # signal that kills us must not leave it behind: exit, so END stops it.
    # PIPE too: when prove -j bails out it stops reading the other jobs,
    # whose next line of TAP would otherwise kill them silently.
    for my $sig (qw(INT TERM HUP PIPE)) {
        $SIG{$sig} = sub { exit 1 } if !$SIG{$sig} || $SIG{$sig} eq 'DEFAULT';
    }

    for my $block ($NoShuffle ? @blocks : shuffle @blocks) {
        $_->($block) for @Preprocessors;
        check_sections($block);           # a preprocessor may have added some
        $block->set_value(name => "$0 " . $block->name);
        run_block($block);
    }
}

END {
    local $?;    # keep the test's exit status for Test::Builder
    if ($Server && !$ENV{TEST_NGINX_NO_CLEAN}) {
        $Server->stop;
        if ($Randomize && -d $ServRoot && $ServRoot =~ m{/t/servroot_\d+$}) {
            File::Path::remove_tree($ServRoot);
        }
    }
}

# ---- one block ---------------------------------------------------------

sub check_sections {
    my ($block) = @_;
    for my $key (sort keys %$block) {
        next if $Sections{$key} || $BlockInternals{$key};
        my $hint = $key eq 'request_body'
            ? ' (the request body goes after the request line in --- request)' : '';
        die "Test::Nginx::Socket (t/lib): unsupported section '--- $key'$hint"
            . " in block '" . $block->name . "' of $0\n";
    }
    die "$0: block '" . $block->name . "' has grep_error_log_out without grep_error_log\n"
        if defined $block->grep_error_log_out && !defined $block->grep_error_log;
}

sub run_block {
    my ($block) = @_;
    my $name = $block->name;
    $RandPorts = {};
    my $config = expand_env(scalar $block->config, $name);

    if (defined $config) {
        # A fresh servroot and nginx for every block with a config.
        $Server->stop;
        $Server->rebuild_root;
        write_user_files($block);
        write_conf($block, $config);
        return run_must_die($block) if defined $block->must_die;

        my ($up, $status, $output) = $Server->start;
        unless ($up) {
            fail("$name - nginx failed to start (wait status $status)");
            diag($output . error_log_tail());
            return;
        }
        $HaveConfig = 1;
    } elsif (!$HaveConfig) {
        bail_out("$name - no '--- config' section and no earlier block to reuse (call no_shuffle()?)");
    }

    if (defined(my $code = $block->init)) {
        eval "package main; $code; 1" or bail_out("$name - init failed: $@");
    }
    $LogPos = 0;
    for my $rep (0 .. $RepeatEach - 1) {
        write_user_files($block) if $rep > 0;
        run_requests($block, $rep);
    }
    save_error_log($block);
}

# must_die: start nginx once per repeat, expect it to exit, check the log.
sub run_must_die {
    my ($block) = @_;
    my $name = $block->name;
    my $want = $block->must_die;
    $LogPos = 0;
    for my $rep (0 .. $RepeatEach - 1) {
        my ($up, $status) = $Server->start;
        $status = 0 if $up;
        if ($status == -1) {
            fail("$name - nginx neither died nor came up");
        } elsif (looks_like_number($want)) {
            is($status >> 8, $want, "$name - die with the expected exit code");
        } else {
            isnt($status, 0, "$name - die as expected");
        }
        if ($up) {
            warn "WARNING: $name - nginx must die but it does not; stopping it\n";
            $Server->stop;
        }
        check_error_log($block, $rep);
    }
    save_error_log($block);
}

sub write_conf {
    my ($block, $config) = @_;
    my $name = $block->name;
    my $main = join ' ', (map { "load_module $_;" } grep { length }
                          split /\s+/, $ENV{TEST_NGINX_LOAD_MODULES} // ''),
                         $block->main_config // '';
    my $user = $ENV{TEST_NGINX_WORKER_USER} || ($> == 0 ? 'root' : undef);
    $Server->write_conf(
        workers            => $Workers,
        master             => $MasterProcess,
        log_level          => $block->log_level || $LogLevel,
        env                => \@EnvToNginx,
        main_config        => expand_env($main, $name),
        http_config        => expand_env(scalar $block->http_config, $name),
        server_name        => scalar $block->server_name,
        preamble           => $ConfigPreamble,
        config             => $config,
        root_location      => !$NoRootLocation,
        worker_connections => $WorkerConnections,
        user               => $user,
    );
}

# "--- user_files": ">>> path [touch date]" lines, each followed by the
# content; or (eval) an array of [path, content, date].
sub write_user_files {
    my ($block) = @_;
    my $files = $block->user_files or return;
    my $name = $block->name;
    if (!ref $files) {
        my @list;
        for my $line (split /^/, $files) {
            if ($line =~ /^>>> (\S+)(?:\s+(.+))?/) {
                push @list, [$1, undef, $2];
            } elsif (@list) {
                $list[-1][1] .= $line;
            }
        }
        $files = \@list;
    }
    die "$name - --- user_files must be text or an array\n" unless ref $files eq 'ARRAY';
    for my $f (@$files) {
        my ($fname, $body, $date) = @$f;
        my $path = $fname =~ m{^/} ? $fname : html_dir() . "/$fname";
        make_path($1) if $path =~ m{(.*)/} && !-d $1;
        open my $fh, '>', $path or bail_out("$name - cannot write $path: $!");
        binmode $fh;
        print $fh expand_env($body // '', $name);
        close $fh;
        if ($date) {
            local $ENV{TZ} = 'GMT';
            system('touch', '-t', $date, $path) == 0 or bail_out("$name - touch -t $date failed");
        }
    }
}

# ---- requests and response checks --------------------------------------

# The connections of one repeat.  A plain request, a raw_request or the
# pipelined requests make one connection; "--- request eval" with an array
# makes one per element.  Expectations are then arrays indexed by request.
sub run_requests {
    my ($block, $rep) = @_;
    my $name = $block->name;
    my $pipelined = $block->pipelined_requests;
    my $conns = connections($block);
    my $need_array = $pipelined ? 1 : @$conns > 1;
    my $timeout = parse_time(scalar $block->timeout) // $Timeout;
    my $shutdown = $block->shutdown;
    $shutdown = 1 if defined $shutdown && $shutdown !~ /\S/;
    my $req_idx = 0;

    for my $c (0 .. $#$conns) {
        my ($raw, $timed_out, $err) = Test::Nginx::Runner::HTTP::exchange(
            port => $ClientPort, pieces => $conns->[$c], timeout => $timeout, shutdown => $shutdown,
            delay => scalar $block->raw_request_middle_delay);
        fail("$name - $err") if $err;
        fail("ERROR: client socket timed out - $name") if $timed_out && !defined $block->abort;

        my $responses = $pipelined ? @$pipelined : 1;
        for my $k (1 .. $responses) {
            unless (defined $block->ignore_response) {
                my ($res, $left, $perr) = Test::Nginx::Runner::HTTP::parse_response($raw // '');
                fail("$name - $perr") if $perr;
                $raw = $left;
                if (!$pipelined && defined $left) {
                    (my $show = $left) =~ s/([^\x20-\x7e])/sprintf '\x{%02x}', ord $1/ge;
                    warn "WARNING: $name - unexpected extra bytes after the response: \"$show\"\n";
                }
                check_response($block, $res, $req_idx, $rep, $need_array);
            }
            # Between requests the log is checked too (one window per request).
            unless ($k == $responses && $c == $#$conns) {
                sleep $block->wait if $block->wait;
                check_error_log($block, $rep);
            }
            $req_idx++;
        }
    }
    sleep $block->wait if $block->wait;
    check_error_log($block, $rep);
}

# The bytes to send: one array of write()s per connection.
sub connections {
    my ($block) = @_;
    my $name = $block->name;
    my $more = $block->more_headers // '';
    my $headers_for = sub {
        my ($i) = @_;
        return $more unless ref $more eq 'ARRAY';
        return $more->[$i] // die "$name - --- more_headers has no entry for request $i\n";
    };
    my $build = sub {
        my ($text, $i, $conn) = @_;
        die "$name - request $i: packet arrays are not supported by this runner\n" if ref $text;
        Test::Nginx::Runner::HTTP::build_request(text => $text, more_headers => $headers_for->($i),
            connection => $conn, host => 'localhost', name => $name);
    };

    if (defined(my $raw = $block->raw_request)) {    # sent exactly as written
        return [ref $raw eq 'ARRAY' ? [@$raw] : [$raw]];
    }
    if (my $reqs = $block->pipelined_requests) {
        die "$name - --- pipelined_requests must be an array (use eval)\n" unless ref $reqs eq 'ARRAY';
        my $bytes = join '', map {
            $build->(expand_env($reqs->[$_], $name), $_, $_ == $#$reqs ? 'close' : 'keep-alive')
        } 0 .. $#$reqs;
        return [[$bytes]];
    }
    my $req = $block->request;
    die "$name - no --- request section\n" unless defined $req;
    if (ref $req eq 'ARRAY') {
        return [map { [$build->($req->[$_], $_, 'close')] } 0 .. $#$req];
    }
    1 while $req =~ s/^\s*#[^\n]+\s+|^\s+//gs;    # leading blank and '#' comment lines
    return [[$build->($req, 0, 'close')]];
}

# The expected value for request $idx: an array is indexed; a plain value
# is fine only when there is a single request.
sub expected {
    my ($name, $value, $idx, $need_array) = @_;
    return $value->[$need_array ? $idx : 0] if ref $value eq 'ARRAY';
    bail_out("$name - several requests: the expected results must be arrays as well")
        if $need_array;
    return $value;
}

# Per request, in the real runner's order and number: status, raw header
# regexes, one per response_headers line, one for the body.
sub check_response {
    my ($block, $res, $idx, $rep, $need_array) = @_;
    my $name = $block->name;
    my $code = ($res && $res->{code}) || '';
    my $raw_headers = $res ? $res->{raw_headers} : '';

    if (defined $block->error_code_like) {
        my $re = expected($name, $block->error_code_like, $idx, $need_array);
        like($code, qr/$re/sm, "$name - status code ok");
    } elsif (defined $block->error_code) {
        is($code, expected($name, $block->error_code, $idx, $need_array), "$name - status code ok");
    } else {
        is($code, 200, "$name - status code ok");
    }

    if (defined $block->raw_response_headers_like) {
        my $re = expected($name, $block->raw_response_headers_like, $idx, $need_array);
        like($raw_headers, qr/$re/s, "$name - raw resp headers like");
    }

    if (defined $block->response_headers) {
        my $want = parse_headers(expected($name, $block->response_headers, $idx, $need_array));
        for my $key (sort keys %$want) {
            my $val = $want->{$key};
            if (!defined $val) {
                unlike($raw_headers, qr/^\s*\Q$key\E\s*:/ms, "$name - header $key not present in the raw headers");
                next;
            }
            $val =~ s/\$ServerPort(?:ForClient)?\b/$ServerPort/g;
            my $got = $res ? Test::Nginx::Runner::HTTP::header($res, $key) : undef;
            is($got // '', $val, "$name - header $key ok");
        }
    } elsif (defined $block->response_headers_like) {    # ignored next to response_headers, as in the real runner
        my $want = parse_headers(expected($name, $block->response_headers_like, $idx, $need_array));
        for my $key (sort keys %$want) {
            my $re = $want->{$key} // '';
            my $got = $res ? Test::Nginx::Runner::HTTP::header($res, $key) : undef;
            like($got // '', qr/^$re$/, "$name - header $key like ok");
        }
    }

    my $body = $res ? $res->{body} : undef;
    if (defined $block->response_body) {
        my $want = expected($name, $block->response_body, $idx, $need_array);
        if (defined $want && !ref $want) {
            $want =~ s/\$ServerPort(?:ForClient)?\b/$ServerPort/g;
            $want = expand_env($want, $name);
        }
        my $what = "$name - response_body - response is expected (repeated req $rep, req $idx)";
        if (ref $want) {
            like($body, $want, $what);
        } elsif ($NoLongString) {
            Test::More::is($body, $want, $what);
        } else {
            is($body, $want, $what);    # Test::Base's is: prints a diff unless no_diff()
        }
    } elsif (defined $block->response_body_like || defined $block->response_body_unlike) {
        my $like = defined $block->response_body_like;
        my $pat = expected($name, $like ? $block->response_body_like : $block->response_body_unlike,
                           $idx, $need_array);
        $pat =~ s/\$ServerPort(?:ForClient)?\b/$ServerPort/g unless ref $pat;
        my $what = "$name - response_body_" . ($like ? 'like' : 'unlike') . " - response is expected";
        $like ? like($body, qr/$pat/s, $what) : unlike($body, qr/$pat/s, $what);
    }
}

# "Name: value" lines to a hash; "!Name" maps to undef (must be absent).
# Repeated names collapse, as in the real runner, so they count once.
sub parse_headers {
    my ($text) = @_;
    my %h;
    for my $line (split /\n/, $text // '') {
        $line =~ s/^\s+|\s+$//g;
        if ($line =~ s/^!\s*//) {
            $h{$line} = undef;
        } else {
            my ($k, $v) = split /\s*:\s*/, $line, 2;
            $h{$k} = $v;
        }
    }
    return \%h;
}

# ---- error.log checks ------------------------------------------------------

# The error.log lines written since the previous check (all of them with
# check_accum_error_log()).  The short sleep lets nginx finish writing
# what it logs after closing the connection (log phase).
sub error_log_lines {
    sleep $Sleep * 3;
    open my $fh, '<', $Server->error_log or return [];
    seek $fh, $LogPos, 0 if !$AccumErrorLog && $LogPos > 0;
    my @lines = <$fh>;
    $LogPos = tell $fh unless $AccumErrorLog;
    return \@lines;
}

sub patterns {
    my ($pats) = @_;
    return () unless defined $pats;
    return ($pats) if ref $pats eq 'Regexp';
    return grep { defined } @$pats if ref $pats eq 'ARRAY';
    (my $text = $pats) =~ s/\n\z//;
    return split /\n+/, $text;
}

sub line_matches {
    my ($line, $pat) = @_;
    return ref $pat eq 'Regexp' ? $line =~ $pat : index($line, $pat) >= 0;
}

# One assertion for grep_error_log_out, one per error_log pattern and one
# per no_error_log pattern.  [alert], [crit] and [emerg] lines only warn,
# unless a pattern mentions them; a failed C assertion is a failure.
sub check_error_log {
    my ($block, $rep) = @_;
    my $name = $block->name;
    my $lines = error_log_lines();

    if (defined(my $grep = $block->grep_error_log)) {
        $grep = $grep->[$rep] if ref $grep eq 'ARRAY';
        my $want = $block->grep_error_log_out;
        bail_out("$name - --- grep_error_log without --- grep_error_log_out") unless defined $want;
        $want = $want->[$rep] if ref $want eq 'ARRAY';
        $want = expand_env($want, $name) unless ref $want;
        if (defined $grep) {
            my $got = '';
            for my $line (@$lines) {
                my $m;
                if (ref $grep eq 'Regexp' && $line =~ $grep) { $m = $& }
                elsif ($line =~ /\Q$grep\E/)                  { $m = $& }
                $got .= "$m\n" if defined $m && $m !~ /\n/;
            }
            my $what = "$name - grep_error_log_out (req $rep)";
            ref $want eq 'Regexp' ? like($got, $want, $what) : is($got, $want, $what);
        }
    }

    my @want = patterns(scalar $block->error_log);
    my @forbid = patterns(scalar $block->no_error_log);
    for my $pat (@want) {
        my ($hit) = grep { line_matches($_, $pat) } @$lines;
        ok(defined $hit, "$name - pattern \"$pat\" matches a line in error.log (req $rep)");
    }
    for my $pat (@forbid) {
        my ($hit) = grep { line_matches($_, $pat) } @$lines;
        chomp(my $shown = $hit // '');
        ok(!defined $hit, defined $hit
            ? "$name - pattern \"$pat\" should not match any line in error.log but matches line \"$shown\" (req $rep)"
            : "$name - pattern \"$pat\" does not match a line in error.log (req $rep)");
    }

    for my $level (qw(alert crit emerg)) {
        next if grep { !ref && index($_, "[$level") >= 0 } @want, @forbid;
        warn "WARNING: $name - $_" for grep { /\[$level\]/ } @$lines;
    }
    for my $line (grep { /\bAssertion .*?failed\b/ } @$lines) {
        chomp $line;
        fail("$name - $line");
    }
}

# TEST_NGINX_ERROR_LOG collects every block's error.log, since each
# restart wipes it.
sub save_error_log {
    my ($block) = @_;
    my $all = $ENV{TEST_NGINX_ERROR_LOG} or return;
    open my $in, '<', $Server->error_log or return;
    open my $out, '>>', $all or bail_out("cannot append to $all: $!");
    print $out "\n=== $0 " . $block->name . "\n", <$in>;
}

sub error_log_tail {
    open my $fh, '<', $Server->error_log or return '';
    my @lines = grep { /\[(?:emerg|alert|crit|error)\]/ } <$fh>;
    return join '', @lines[-(@lines > 10 ? 10 : @lines) .. -1];
}

# ---- helpers -------------------------------------------------------------

# $TEST_NGINX_<NAME> to the environment variable's value; an undefined one
# aborts the run.  $TEST_NGINX_RAND_PORT_<n> becomes a free port, the same
# one for that name throughout the block.
sub expand_env {
    my ($text, $name) = @_;
    return $text if !defined $text || ref $text;
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        if ($var =~ /^TEST_NGINX_RAND_PORT_[0-9]+$/) {
            my %used = map { $_ => 1 } $ServerPort, values %$RandPorts;
            $RandPorts->{$var} //= Test::Nginx::Runner::Server::free_port(\%used);
        } else {
            defined $ENV{$var} or bail_out("$name - No environment $var defined.");
            $ENV{$var};
        }
    }ge;
    return $text;
}

# "3", "3s" or "300ms" to seconds.
sub parse_time {
    my ($t) = @_;
    return undef unless defined $t;
    return $1 / 1000 if $t =~ /^\s*([\d.]+)\s*ms\s*$/;
    return $1 if $t =~ /^\s*([\d.]+)\s*s?\s*$/;
    return $t;
}

sub find_nginx {
    for my $dir (split(/:/, $ENV{PATH} // ''), '/usr/sbin') {
        return "$dir/nginx" if length $dir && -f "$dir/nginx" && -x _;
    }
    return undef;
}

1;
