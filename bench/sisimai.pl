#!/usr/bin/perl
# The peer of bench/bounces.sh: Sisimai (libsisimai-perl) reads every
# file under the given directories, as `presswire bounces inspect` does,
# and prints its results as JSON, one line per file. Results with reason
# "delivered" are kept (`delivered => 1`), as presswire keeps them.
use strict;
use warnings;
use File::Find;
use Sisimai;

my @files;
find({ wanted => sub { push @files, $_ if -f $_ && !m{(?:^|/)\.[^/]*$} }, no_chdir => 1 }, @ARGV);
binmode STDOUT;
for my $f (sort @files) {
    print Sisimai->dump($f, delivered => 1), "\n";
}
