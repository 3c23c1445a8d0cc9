import json, subprocess, sys
cli = sys.argv[1]; model = sys.argv[2]; eagle = sys.argv[3]; methods = sys.argv[4:]  # e.g. vanilla eagle2 fr:PATH
prompts = json.load(open('prompts.json'))
res = {}
for m in methods:
    acc, toks, secs = [], 0, 0.0
    for p in prompts:
        cmd = ['dotnet', cli, 'generate', '--model', model, '--max-tokens', '64', '--temperature', '0', '--json']
        if m != 'vanilla': cmd += ['--eagle', eagle]
        if m.startswith('fr:'): cmd += ['--fr', m[3:]]
        cmd.append(p['prompt'])
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0: print(out.stderr, file=sys.stderr); sys.exit(1)
        j = json.loads(out.stdout.strip().splitlines()[-1])
        acc += j['accept_lengths']
        toks += len(j.get('ids', [])) if 'ids' in j else 0
        p.setdefault('text', {})[m] = j.get('text', '')[:200]
        print(m, p['domain'], 'mean accept %.2f' % j['mean_accept_length'], file=sys.stderr)
    res[m] = {'mean_accept_length': sum(acc) / len(acc), 'target_passes': len(acc), 'tokens': sum(acc)}
    print(m, json.dumps(res[m]))
json.dump({'results': res, 'prompts': prompts}, open('accept.json', 'w'), indent=1)
