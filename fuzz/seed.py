"""Seeds fuzz/corpus/<target>/ from the official examples (/work/shared/spec, or SPEC_DIR)
and hand-written messages for the router of oxmcp::fuzzing. Run once; `cargo xtask fuzz` grows
the corpus and `cargo fuzz cmin` minimises it."""
import json, os, glob, hashlib
root=os.path.join(os.path.dirname(os.path.abspath(__file__)),'corpus')
def put(target, data):
    if isinstance(data,str): data=data.encode()
    d=os.path.join(root,target); os.makedirs(d,exist_ok=True)
    open(os.path.join(d,hashlib.sha1(data).hexdigest()),'wb').write(data)
msgs=[]; schemas=[]
for f in sorted(glob.glob(os.path.join(os.environ.get('SPEC_DIR','/work/shared/spec'),'*/examples/**/*.json'),recursive=True)):
    try: v=json.load(open(f))
    except Exception: continue
    if isinstance(v,dict) and 'jsonrpc' in v: msgs.append(v)
    elif isinstance(v,dict) and 'method' in v and ('params' in v or True): 
        v={'jsonrpc':'2.0','id':1,**v}; msgs.append(v)
    if 'Schema' in f or (isinstance(v,dict) and v.get('type')=='object'): schemas.append(v)
    if isinstance(v,dict):
        rs=(v.get('params') or {}).get('requestedSchema') if isinstance(v.get('params'),dict) else None
        if rs: schemas.append(rs)
meta={"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{}},"io.modelcontextprotocol/clientInfo":{"name":"fuzz","version":"1"}}
init='{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"elicitation":{}},"clientInfo":{"name":"fuzz","version":"1"}}}\n{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
own=[
 {"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}},
 {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"greet","arguments":{}}},
 {"jsonrpc":"2.0","id":3,"method":"prompts/get","params":{"name":"summary","arguments":{"topic":"rust"}}},
 {"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"fuzz://items/12?q=a&page=2"}},
 {"jsonrpc":"2.0","id":5,"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":"fuzz://items/{id}{?q,page}"},"argument":{"name":"id","value":"1"}}},
 {"jsonrpc":"2.0","id":6,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"summary"},"argument":{"name":"topic","value":"r"}}},
 {"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"cursor":"abc"}},
 {"jsonrpc":"2.0","id":8,"method":"resources/subscribe","params":{"uri":"fuzz://static"}},
 {"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2,"reason":"x"}},
 {"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"greet","arguments":{},"inputResponses":{"q":{"action":"accept","content":{"name":"x"}}},"requestState":"v1.k1.e30.AAAA"}},
 {"jsonrpc":"2.0","id":10,"method":"server/discover","params":{}},
 {"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2},"_meta":{"progressToken":"t"}}},
]
msgs+=own
for m in msgs:
    line=json.dumps(m,separators=(',',':'))
    put('frame',line); put('http_body',line)
    modern=json.loads(line)
    if isinstance(modern.get('params'),dict) and 'method' in modern:
        p=dict(modern['params']); p['_meta']={**meta,**(p.get('_meta') or {})}; modern['params']=p
        put('server',json.dumps(modern,separators=(',',':'))+'\n')
        put('http_body',json.dumps(modern,separators=(',',':')))
    put('server',init+line+'\n')
put('frame','[' + ','.join(json.dumps(m) for m in own[:4]) + ']')
put('frame','{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}')
put('server',init+'['+','.join(json.dumps(m) for m in own[:4])+']\n')
methods=["tools/call","prompts/get","resources/read","completion/complete","resources/templates/list","logging/setLevel","resources/subscribe","server/discover"]
for m in own:
    if m.get('method') in methods and 'params' in m:
        i=methods.index(m['method'])
        p=m['params']
        put('params',bytes([i])+json.dumps({**p,'_meta':meta}).encode())
        put('params',bytes([i|0x80])+json.dumps(p).encode())
put('params',bytes([5|0x80])+b'{"level":"debug"}')
for t,u in [("fuzz://items/{id}{?q,page}","fuzz://items/12?q=a&page=2"),("file:///{+path}","file:///a/b/c.txt"),("x://{a}/{b*}{#frag}","x://1/2,3#f"),("u://{;x,y}{/p*}{.e}","u://;x=1;y=2/a/b.json"),("u://{var:3}/{&q}","u://abc/&q=1"),("a{x}b{y}c","a1b2c"*20)]:
    put('uri_template',t+'\n'+u)
for s in ["data: {\"a\":1}\n\n","id: 1\r\nevent: message\r\ndata: a\r\ndata: b\r\n\r\n",": keep\nretry: 500\n\n","data:"+"x"*70+"\n\ndata: ok\n\n"]:
    put('sse',bytes([3])+s.encode())
for s in ["v1.k1.eyJhdWQiOiJmdXp6In0.AAAA","v1.k0.e30.e30","","v2.x.y.z","v1..."]:
    put('sealed_state',s)
for s in schemas: put('elicitation_schema',json.dumps(s))
put('elicitation_schema',json.dumps([{"type":"object","properties":{"n":{"type":"string","minLength":1,"format":"email"},"c":{"type":"string","enum":["a","b"]},"k":{"type":"array","items":{"enum":["x","y"]}},"i":{"type":"integer","minimum":0},"b":{"type":"boolean","default":True}},"required":["n"]},{"n":"a@b.c","c":"a","k":["x"],"i":3,"b":False}]))
put('elicitation_schema',json.dumps({"type":"object","properties":{"p":{"$ref":"#/$defs/P"},"o":{"anyOf":[{"type":"string"},{"type":"null"}]}},"$defs":{"P":{"type":"string","oneOf":[{"const":"a","title":"A"}]}}}))
