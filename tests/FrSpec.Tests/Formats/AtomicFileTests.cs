using FrSpec.Formats;

namespace FrSpec.Tests.Formats;

/// <summary>The one write-through-a-temporary-and-rename of every output file and store: whole or not at all, nothing left behind.</summary>
public class AtomicFileTests
{
    [Fact]
    public void Writes_and_replaces_a_file_whole_leaving_no_temporary()
    {
        string dir = TestModels.NewTempDir(), file = Path.Combine(dir, "a.json"), plain = Path.Combine(dir, "plain.json");
        AtomicFile.WriteAllText(file, "first");
        Assert.Equal("first", File.ReadAllText(file));
        AtomicFile.WriteAllText(file, "zweite Fassung: ü, ∑");
        File.WriteAllText(plain, "zweite Fassung: ü, ∑");
        Assert.Equal(File.ReadAllBytes(plain), File.ReadAllBytes(file)); // the bytes File.WriteAllText writes (UTF-8, no BOM)
        AtomicFile.Write(file, s => s.Write([1, 2, 3]));
        Assert.Equal([1, 2, 3], File.ReadAllBytes(file));
        Assert.Equal(["a.json", "plain.json"], Directory.GetFiles(dir).Select(f => Path.GetFileName(f)!).Order().ToArray());
    }

    [Fact]
    public void A_write_that_fails_leaves_the_previous_file_and_no_temporary()
    {
        string dir = TestModels.NewTempDir(), file = Path.Combine(dir, "counts.bin");
        File.WriteAllText(file, "previous");
        var e = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(file, s =>
        {
            s.Write(new byte[100_000]);
            throw new InvalidOperationException("interrupted");
        }));
        Assert.Equal("interrupted", e.Message);
        Assert.Equal("previous", File.ReadAllText(file));
        Assert.Equal([file], Directory.GetFiles(dir));
    }

    [Fact]
    public void Without_overwrite_an_existing_file_is_an_error_and_stays()
    {
        string dir = TestModels.NewTempDir(), file = Path.Combine(dir, "out.gguf");
        File.WriteAllText(file, "the user's");
        bool called = false;
        var e = Assert.Throws<FrSpecException>(() => AtomicFile.Write(file, _ => called = true, overwrite: false));
        Assert.Contains(file, e.Message);
        Assert.False(called); // refused before any work
        // a file that appears while the content is being written is not replaced either
        string late = Path.Combine(dir, "late.gguf");
        e = Assert.Throws<FrSpecException>(() => AtomicFile.Write(late, s => { s.Write([1]); File.WriteAllText(late, "appeared"); }, overwrite: false));
        Assert.Contains("appeared while it was being written", e.Message);
        Assert.Equal("appeared", File.ReadAllText(late));
        Assert.Equal("the user's", File.ReadAllText(file));
        Assert.Equal(2, Directory.GetFiles(dir).Length);
    }

    [Fact]
    public void The_temporary_of_a_killed_writer_is_removed_by_the_next_write()
    {
        string dir = TestModels.NewTempDir(), file = Path.Combine(dir, "acceptance-x.json");
        string dead = $"{file}.{int.MaxValue - 7}-0123456789abcdef0123456789abcdef.partial";
        string live = $"{file}.{Environment.ProcessId}-fedcba9876543210fedcba9876543210.partial";
        string other = Path.Combine(dir, "acceptance-y.json.1-x.partial");
        foreach (var f in new[] { dead, live, other }) File.WriteAllText(f, "partial");
        AtomicFile.WriteAllText(file, "{}");
        Assert.False(File.Exists(dead));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(other));
    }
}
