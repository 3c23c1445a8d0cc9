using FrSpec.Cli.Commands;

namespace FrSpec.Tests.Cli;

public class BenchPeerCommandTests
{
    [Fact]
    public void FindsTheSourceTreeAboveAnyStartFolder()
    {
        string root = TestModels.NewTempDir();
        File.WriteAllText(Path.Combine(root, "FrSpec.slnx"), "<Solution />");
        string peer = Path.Combine(root, BenchPeerCommand.PeerProject);
        Directory.CreateDirectory(Path.GetDirectoryName(peer)!);
        File.WriteAllText(peer, "<Project />");
        string nested = Directory.CreateDirectory(Path.Combine(root, "artifacts", "cli")).FullName;
        string elsewhere = TestModels.NewTempDir();

        Assert.Equal(Path.GetFullPath(root), BenchPeerCommand.FindRepositoryRoot([elsewhere, nested]));
        Assert.Null(BenchPeerCommand.FindRepositoryRoot([elsewhere]));
    }

    [Fact]
    public void ThisCheckoutHasThePeerProject()
    {
        Assert.NotNull(BenchPeerCommand.FindRepositoryRoot([AppContext.BaseDirectory]));
    }
}
