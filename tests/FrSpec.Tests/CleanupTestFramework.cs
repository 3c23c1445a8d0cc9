using Xunit.Abstractions;
using Xunit.Sdk;

[assembly: Xunit.TestFramework("FrSpec.Tests.CleanupTestFramework", "FrSpec.Tests")]

namespace FrSpec.Tests;

/// <summary>xunit's own test framework, plus the end-of-run step xunit 2 has no other hook for: deleting the run's temp folder.</summary>
public sealed class CleanupTestFramework : XunitTestFramework
{
    public CleanupTestFramework(IMessageSink messageSink) : base(messageSink) => DisposalTracker.Add(new RunEnd());

    /// <summary>Disposed by the framework once, after every test of the assembly has finished.</summary>
    private sealed class RunEnd : IDisposable
    {
        public void Dispose() => TestTemp.DeleteRoot();
    }
}
