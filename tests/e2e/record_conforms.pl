#!/usr/bin/perl
# Checks topic records ("key<TAB>value" lines on stdin) against the record's
# JSON Schema: required and allowed keys, and JSON types, at the top level
# and in "client" (the parts of ngx_mcpu_module/mcpu_record.schema.json a
# flat record has).  Core Perl only.
use strict;
use warnings;
use JSON::PP;
use B ();

my $schema = decode_json(do { local (@ARGV, $/) = shift; <> });

sub type_of {
    my ($v) = @_;
    return 'null' unless defined $v;
    return 'object' if ref $v eq 'HASH';
    return 'array' if ref $v eq 'ARRAY';
    return 'boolean' if JSON::PP::is_bool($v);
    # JSON::PP leaves a decoded number without a string value
    my $flags = B::svref_2object(\$v)->FLAGS;
    return 'string' if $flags & B::SVf_POK;
    return $v == int($v) ? 'integer' : 'number';
}

sub check {
    my ($s, $v, $where) = @_;
    my @bad;
    for my $k (@{ $s->{required} // [] }) {
        push @bad, "$where: missing \"$k\"" unless exists $v->{$k};
    }
    for my $k (sort keys %$v) {
        my $p = $s->{properties}{$k};
        if (!$p) {
            push @bad, "$where: unexpected \"$k\"" if defined $s->{additionalProperties}
                                                     && !$s->{additionalProperties};
            next;
        }
        if (exists $p->{const} && $v->{$k} ne $p->{const}) {
            push @bad, "$where.$k: not $p->{const}";
        }
        if (my $t = $p->{type}) {
            my @ok = ref $t ? @$t : ($t);
            my $got = type_of($v->{$k});
            push @bad, "$where.$k: $got, not @ok" unless grep { $_ eq $got } @ok;
        }
        push @bad, check($p, $v->{$k}, "$where.$k") if ($p->{type} // '') eq 'object';
    }
    return @bad;
}

my ($n, @bad) = (0);
while (my $line = <STDIN>) {
    chomp $line;
    my (undef, $value) = split /\t/, $line, 2;
    $n++;
    my @b = check($schema, decode_json($value), 'record');
    push @bad, "record $n: @b" if @b;
}
print scalar(@bad) ? join("\n", @bad[0 .. ($#bad < 4 ? $#bad : 4)]) . "\n" : "";
exit(@bad || !$n ? 1 : 0);
