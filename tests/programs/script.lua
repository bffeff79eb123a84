-- A Lua program for tests/programs/run.sh: strings, tables, closures, coroutines and garbage.
local t = {}
for i = 1, 200000 do t[i] = string.format("%d:%s", i, string.rep("x", i % 50)) end
local sum = 0
for i, s in ipairs(t) do sum = sum + #s end
print("strings", #t, sum)
local words = {}
for w in string.gmatch(string.rep("the quick brown fox jumps over the lazy dog ", 20000), "%a+") do
	words[w] = (words[w] or 0) + 1
end
local keys = {}
for k in pairs(words) do keys[#keys + 1] = k end
table.sort(keys)
for _, k in ipairs(keys) do io.write(k, "=", words[k], " ") end
print()
local function counter() local n = 0; return function() n = n + 1; return n end end
local c = 0
for i = 1, 100000 do local f = counter(); f(); c = c + f() end
print("closures", c)
local co = coroutine.wrap(function() for i = 1, 50000 do coroutine.yield(i * i % 1000) end end)
local acc = 0
for i = 1, 50000 do acc = acc + co() end
print("coroutines", acc)
local tree
local function build(d) if d == 0 then return {} end return {build(d - 1), build(d - 1)} end
local function count(n) if not n[1] then return 1 end return 1 + count(n[1]) + count(n[2]) end
for i = 1, 8 do tree = build(15) end
print("tree", count(tree))
t = nil
collectgarbage()
print("done", collectgarbage("count") > 0)
