using System.CommandLine;

namespace FrSpec.Cli;

/// <summary>
/// One CLI verb. Every non-abstract implementation in this assembly is discovered by <see cref="Program"/>,
/// so adding a verb means adding one file under Commands/ and touching nothing else.
/// </summary>
public interface ICliVerb
{
    /// <summary>Name of the parent verb ("" for a top-level verb, e.g. "bench" for `bench decode`).</summary>
    string Parent => "";

    /// <summary>Builds the command with its options and action.</summary>
    Command Create();
}
