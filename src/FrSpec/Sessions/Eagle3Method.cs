using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Speculative;

namespace FrSpec.Sessions;

/// <summary>EAGLE-3 with EAGLE-2's dynamic tree over the head's draft vocabulary, cut to <see cref="Vocabulary"/> when set.</summary>
public sealed record Eagle3Method(string HeadDirectory, DraftVocabulary? Vocabulary, TreeOptions Tree) : DecodingMethod
{
    public override string Name => Named("eagle3", Vocabulary);

    internal override IDecoder CreateDecoder(LanguageModel model, ISampledAcceptance? acceptance)
    {
        Tree.Validate();
        var head = model.Eagle3Head(HeadDirectory);
        var network = Eagle3Network.For(head, model.Target, model.Eagle3DraftHead(HeadDirectory, Vocabulary));
        return new SpeculativeDecoder(model.Target, new EagleDrafter(network, Tree, 512), Name, acceptance);
    }
}
