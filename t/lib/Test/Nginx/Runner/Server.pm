package Test::Nginx::Runner::Server;

# The server side of the t/lib runner: the servroot, the generated
# nginx.conf, and the nginx process itself (shared/TEST-NGINX.md sections 5
# and 7).
#
# Unlike the real Test::Nginx, nginx runs with "daemon off" as our own
# child, in its own process group (gotcha G1).  A daemonised nginx is
# reparented to PID 1, which on this machine reaps only every ~1.5 s, so
# "is it still alive" polling costs seconds per block.  As our child it is
# reaped by our own waitpid the moment it exits, a rejected config shows up
# as its exit status, and a KILL of the process group also takes the
# workers when master_on() is used.

use strict;
use warnings;

use File::Path qw(make_path remove_tree);
use IO::Socket::INET ();
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

sub new {
    my ($class, %a) = @_;    # binary, root, port, timeout, verbose
    my $self = bless { %a, pid => undef }, $class;
    $self->{nginx_V} = `'$a{binary}' -V 2>&1`;
    die "cannot run nginx binary '$a{binary}' (set TEST_NGINX_BINARY)\n" if $? != 0;
    return $self;
}

sub path      { join '/', $_[0]{root}, @_[1 .. $#_] }
sub error_log { $_[0]->path('logs', 'error.log') }
sub pid_file  { $_[0]->path('logs', 'nginx.pid') }
sub html_dir  { $_[0]->path('html') }
sub running   { defined $_[0]{pid} }

# Remove what a previous block left and make the servroot again.  Only the
# directories the runner itself creates are removed; the final rmdir fails
# if a test left anything else there, and then we stop rather than delete
# files we don't know (the real runner aborts the same way).
sub rebuild_root {
    my ($self) = @_;
    my $root = $self->{root};
    if (-d $root) {
        remove_tree(map { $self->path($_) } qw(conf html logs cache));
        remove_tree(glob("$root/*_temp"), glob("$root/*_cache"));
        rmdir $root or die "cannot remove $root (a test left files in it?): $!\n";
    }
    make_path(map { $self->path($_) } qw(logs html conf));
    open my $fh, '>', $self->path('html', 'index.html') or die "cannot write index.html: $!\n";
    print $fh '<html><head><title>It works!</title></head><body>It works!</body></html>';
    close $fh;
}

# nginx.conf in the real runner's order (section 5), except "daemon off".
sub write_conf {
    my ($self, %c) = @_;
    my $root = $self->{root};
    my $http_config = $c{http_config} // '';

    # A temp path the block's http_config sets itself would be "duplicate".
    my $temp = '';
    for my $kind (qw(client_body proxy fastcgi scgi uwsgi)) {
        next if $http_config =~ /\b${kind}_temp_path\b/;
        next if $kind ne 'client_body' && $kind ne 'proxy'
            && $self->{nginx_V} =~ /--without-http_${kind}_module/;
        $temp .= " ${kind}_temp_path $root/${kind}_temp;";
    }
    (my $server_name = $c{server_name} // 'localhost') =~ s/([\\'])/\\$1/g;
    my $env = join '', map { my $v = /\s/ ? "'$_'" : $_; "env $v;\n" } @{ $c{env} || [] };
    my $root_location = $c{root_location} ? <<"EOC" : '';
        location / {
            root $root/html;
            index index.html index.htm;
        }
EOC
    my $user = $c{user} ? "user $c{user};\n" : '';

    open my $fh, '>', $self->path('conf', 'nginx.conf') or die "cannot write nginx.conf: $!\n";
    print $fh <<"EOC";
worker_processes  $c{workers};
daemon off;
master_process $c{master};
error_log $root/logs/error.log $c{log_level};
pid       $root/logs/nginx.pid;
env LD_PRELOAD;
env LD_LIBRARY_PATH;
env ASAN_OPTIONS;
$env
$c{main_config}

http {
    access_log $root/logs/access.log;$temp

    default_type text/plain;
    keepalive_timeout  68000ms;

$http_config
    server {
        listen          $self->{port};
        server_name     '$server_name';
        client_max_body_size 30M;

        # Begin preamble config...
$c{preamble}
        # End preamble config...

        # Begin test case config...
$c{config}
        # End test case config.

$root_location    }
}

events {
    accept_mutex off;
    worker_connections  $c{worker_connections};
}
$user
EOC
    close $fh;
}

# Start nginx and wait until it listens on the port or exits.  Returns
# (1) once it is up, or (0, wait status, message) if it exited or never
# came up.  Startup stderr goes to logs/startup.stderr: it is shown only
# when the start was not expected to fail.
sub start {
    my ($self) = @_;
    my $root = $self->{root};
    die "port $self->{port} is already in use (another nginx? set TEST_NGINX_PORT)\n"
        if listening($self->{port});

    my @cmd = ($self->{binary}, '-p', "$root/", '-c', "$root/conf/nginx.conf");
    # -e (nginx >= 1.19.5) puts even the earliest startup errors into error.log.
    splice @cmd, 1, 0, '-e', $self->error_log if version($self->{nginx_V}) >= 1_019_005;
    warn "# starting: @cmd\n" if $self->{verbose};

    my $pid = fork // die "fork failed: $!\n";
    if ($pid == 0) {
        POSIX::setpgid(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';    # a held stdout pipe would keep prove waiting
        open STDERR, '>', $self->path('logs', 'startup.stderr');
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }
    POSIX::setpgid($pid, $pid);    # also here, so a signal to the group cannot race the child
    $self->{pid} = $pid;

    # Poll at a short interval instead of sleeping a fixed time.  "Up" means
    # the pid file names our child (written after the config was accepted
    # and the sockets opened) and the port is in LISTEN state.  We look at
    # /proc/net/tcp* instead of connecting, so that no probe connection
    # shows up in error.log or shifts nginx's connection numbers.
    my $deadline = time + 10;
    while (time < $deadline) {
        if (waitpid($pid, WNOHANG) == $pid) {
            my $status = $?;
            undef $self->{pid};
            return (0, $status, $self->startup_output);
        }
        return (1) if $self->pid_from_file == $pid && listening($self->{port});
        sleep 0.005;
    }
    $self->stop;
    return (0, -1, "nginx did not listen on port $self->{port} within 10 s\n" . $self->startup_output);
}

sub startup_output {
    my ($self) = @_;
    open my $fh, '<', $self->path('logs', 'startup.stderr') or return '';
    local $/;
    return <$fh> // '';
}

sub pid_from_file {
    my ($self) = @_;
    open my $fh, '<', $self->pid_file or return 0;
    my $pid = <$fh> // '';
    return $pid =~ /^\s*(\d+)/ ? $1 : 0;
}

# Graceful stop with a bounded escalation: QUIT, then TERM, then KILL of the
# whole process group.  Returns only once our child has been reaped, so the
# port is free for the next block.
sub stop {
    my ($self) = @_;
    my $pid = $self->{pid} // return;
    for my $step (['QUIT', $self->{timeout}], ['TERM', 1], ['KILL', 5]) {
        my ($sig, $wait) = @$step;
        warn "# sending $sig to nginx $pid\n" if $self->{verbose} || $sig ne 'QUIT';
        kill $sig, $sig eq 'KILL' ? -$pid : $pid;
        my $deadline = time + $wait;
        while (time < $deadline) {
            my $r = waitpid $pid, WNOHANG;
            if ($r == $pid || $r == -1) {
                kill 'KILL', -$pid if kill 0, -$pid;    # workers left behind by a killed master
                undef $self->{pid};
                return;
            }
            sleep 0.005;
        }
    }
    warn "nginx $pid survived SIGKILL?\n";
    undef $self->{pid};
}

# An nginx left running by an earlier run (TEST_NGINX_NO_CLEAN, or a
# killed test) that still owns our pid file: not our child, so poll
# /proc instead of waitpid, and treat a zombie as gone.
sub stop_stale {
    my ($self) = @_;
    my $pid = $self->pid_from_file or return;
    return if defined $self->{pid} && $pid == $self->{pid};
    my $alive = sub {
        open my $fh, '<', "/proc/$pid/stat" or return 0;
        my $stat = <$fh> // '';
        return $stat =~ /\(nginx\)\s+[^Z]/;
    };
    return unless $alive->();
    warn "# stopping an nginx left by an earlier run (pid $pid)\n";
    kill 'QUIT', $pid;
    my $deadline = time + $self->{timeout};
    sleep 0.01 while $alive->() && time < $deadline;
    kill 'KILL', $pid if $alive->();
}

# Is some socket listening on this TCP port?  Reads /proc/net/tcp{,6};
# falls back to a connect where /proc is not available.
sub listening {
    my ($port) = @_;
    my $seen_proc = 0;
    for my $file ('/proc/net/tcp', '/proc/net/tcp6') {
        open my $fh, '<', $file or next;
        $seen_proc = 1;
        while (<$fh>) {
            my (undef, $local, undef, $state) = split;
            return 1 if $state && $state eq '0A' && $local =~ /:([0-9A-F]{4})$/ && hex($1) == $port;
        }
    }
    return 0 if $seen_proc;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 0.2);
    return $sock ? 1 : 0;
}

# A port nothing listens on, for TEST_NGINX_RANDOMIZE and
# $TEST_NGINX_RAND_PORT_<n>.  $used: ports already handed out.
sub free_port {
    my ($used) = @_;
    for (1 .. 1000) {
        my $port = 1988 + int rand(63000);
        next if $used->{$port};
        my $sock = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port,
                                         Proto => 'tcp', Listen => 1, ReuseAddr => 1) or next;
        close $sock;
        return $port;
    }
    die "cannot find a free TCP port\n";
}

sub version {
    my ($v) = @_;
    return $v =~ m{nginx/(\d+)\.(\d+)\.(\d+)} ? $1 * 1_000_000 + $2 * 1_000 + $3 : 0;
}

1;
