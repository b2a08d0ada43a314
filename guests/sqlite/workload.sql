-- A deterministic SQL workload for the sqlite3 shell (riscv64), run on a fresh
-- database under qemu-riscv64 and under tern exec: the outputs must be identical
-- (crates/tern/tests/exec_sqlite.rs). No random(), no times: every value derives
-- from row numbers.
.bail on
.headers off
.mode list
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
PRAGMA page_size;
PRAGMA foreign_keys=ON;

CREATE TABLE customer(
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    city TEXT NOT NULL,
    since INTEGER NOT NULL
);
CREATE TABLE product(
    id INTEGER PRIMARY KEY,
    label TEXT NOT NULL UNIQUE,
    price REAL NOT NULL
);
CREATE TABLE orders(
    id INTEGER PRIMARY KEY,
    customer INTEGER NOT NULL REFERENCES customer(id),
    product INTEGER NOT NULL REFERENCES product(id),
    qty INTEGER NOT NULL,
    note TEXT
);

-- 2000 customers, 300 products, 20000 orders, each in its own transaction
-- (the orders in ten of them, so that the WAL grows over several commits).
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
INSERT INTO customer(id, name, city, since)
SELECT i, printf('customer-%05d', i),
       (SELECT c FROM (SELECT 0 AS k, 'Lisbon' AS c UNION ALL SELECT 1, 'Tromso'
                       UNION ALL SELECT 2, 'Quito' UNION ALL SELECT 3, 'Osaka'
                       UNION ALL SELECT 4, 'Nairobi' UNION ALL SELECT 5, 'Perth'
                       UNION ALL SELECT 6, 'Tbilisi') WHERE k = (i * 7919) % 7),
       1990 + (i * 104729) % 35
FROM n;
COMMIT;

BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
INSERT INTO product(id, label, price)
SELECT i, printf('P%03d-%s', i, substr('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 1 + i % 26, 3)),
       round(((i * 2654435761) % 100000) / 100.0 + 0.99, 2)
FROM n;
COMMIT;

CREATE TEMP TABLE batch(b INTEGER);
INSERT INTO batch VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9);
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
INSERT INTO orders(customer, product, qty, note)
SELECT 1 + (i * i * 31 + i * 7) % 1999, 1 + (i * 16807 + i / 7) % 300, 1 + (i * i) % 9,
       CASE WHEN i % 5 = 0 THEN 'gift ' || hex(i) ELSE NULL END FROM n;
COMMIT;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 2001 UNION ALL SELECT i + 1 FROM n WHERE i < 4000)
INSERT INTO orders(customer, product, qty, note)
SELECT 1 + (i * i * 31 + i * 7) % 1999, 1 + (i * 16807 + i / 7) % 300, 1 + (i * i) % 9,
       CASE WHEN i % 5 = 0 THEN 'gift ' || hex(i) ELSE NULL END FROM n;
COMMIT;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 4001 UNION ALL SELECT i + 1 FROM n WHERE i < 8000)
INSERT INTO orders(customer, product, qty, note)
SELECT 1 + (i * i * 31 + i * 7) % 1999, 1 + (i * 16807 + i / 7) % 300, 1 + (i * i) % 9,
       CASE WHEN i % 5 = 0 THEN 'gift ' || hex(i) ELSE NULL END FROM n;
COMMIT;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 8001 UNION ALL SELECT i + 1 FROM n WHERE i < 14000)
INSERT INTO orders(customer, product, qty, note)
SELECT 1 + (i * i * 31 + i * 7) % 1999, 1 + (i * 16807 + i / 7) % 300, 1 + (i * i) % 9,
       CASE WHEN i % 5 = 0 THEN 'gift ' || hex(i) ELSE NULL END FROM n;
COMMIT;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 14001 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO orders(customer, product, qty, note)
SELECT 1 + (i * i * 31 + i * 7) % 1999, 1 + (i * 16807 + i / 7) % 300, 1 + (i * i) % 9,
       CASE WHEN i % 5 = 0 THEN 'gift ' || hex(i) ELSE NULL END FROM n;
COMMIT;

-- A rolled-back transaction leaves nothing behind.
BEGIN;
DELETE FROM orders WHERE qty > 3;
SELECT 'inside rollback', count(*) FROM orders;
ROLLBACK;
SELECT 'after rollback', count(*) FROM orders;

-- A savepoint released and one rolled back.
BEGIN;
SAVEPOINT a;
UPDATE product SET price = price * 2 WHERE id <= 10;
RELEASE a;
SAVEPOINT b;
DELETE FROM customer WHERE id > 1990 AND id NOT IN (SELECT customer FROM orders);
ROLLBACK TO b;
COMMIT;

CREATE INDEX orders_customer ON orders(customer);
CREATE INDEX orders_product_qty ON orders(product, qty);
CREATE INDEX customer_city ON customer(city, since);

SELECT 'counts', (SELECT count(*) FROM customer), (SELECT count(*) FROM product),
       (SELECT count(*) FROM orders);
PRAGMA wal_checkpoint(TRUNCATE);

-- Joins and aggregates.
SELECT c.city, count(DISTINCT c.id), count(o.id), sum(o.qty),
       printf('%.2f', sum(o.qty * p.price))
FROM customer c JOIN orders o ON o.customer = c.id JOIN product p ON p.id = o.product
GROUP BY c.city ORDER BY c.city;

SELECT p.label, sum(o.qty) AS units
FROM product p JOIN orders o ON o.product = p.id
GROUP BY p.id ORDER BY units DESC, p.label LIMIT 10;

SELECT c.name, count(*) AS n, group_concat(DISTINCT o.qty)
FROM customer c LEFT JOIN orders o ON o.customer = c.id
WHERE c.id % 97 = 0 GROUP BY c.id ORDER BY c.id;

SELECT 'no orders', count(*) FROM customer c
WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer = c.id);

SELECT since, count(*), min(name), max(name) FROM customer
GROUP BY since HAVING count(*) > 60 ORDER BY since;

-- Window functions and a CTE.
WITH per AS (
    SELECT customer, sum(qty) AS q FROM orders GROUP BY customer
)
SELECT customer, q, rank() OVER (ORDER BY q DESC), 
       printf('%.3f', avg(q) OVER (ORDER BY customer ROWS BETWEEN 2 PRECEDING AND 2 FOLLOWING))
FROM per ORDER BY q DESC, customer LIMIT 12;

SELECT city, since, sum(count(*)) OVER (PARTITION BY city ORDER BY since)
FROM customer WHERE since BETWEEN 2000 AND 2003
GROUP BY city, since ORDER BY city, since;

-- Updates and deletes through the indexes.
UPDATE orders SET qty = qty + 10 WHERE product IN (SELECT id FROM product WHERE price < 50);
DELETE FROM orders WHERE customer % 13 = 0 AND qty < 3;
SELECT 'after update', count(*), sum(qty), total(length(note)) FROM orders;

-- Strings, numbers, json.
SELECT upper(name), lower(city), length(name), instr(name, '-'), replace(name, 'customer', 'c')
FROM customer WHERE id IN (1, 1000, 2000) ORDER BY id;
SELECT 7 / 2, 7.0 / 2, 7 % 3, -7 / 2, abs(-3.5), round(2.675, 2), 1e308 * 10, -(1e308 * 10),
       9223372036854775807 + 0, cast('12abc' AS INTEGER), typeof(1 / 0);
SELECT printf('%08.3f|%-6s|%x|%e', 3.14159, 'ab', 255, 12345.678);
SELECT json_object('id', id, 'label', label, 'price', price) FROM product WHERE id <= 3;
SELECT json_group_array(qty) FROM (SELECT qty FROM orders WHERE customer = 5 ORDER BY id);
SELECT quote(x'00ff10'), hex(zeroblob(4)), unicode('é'), char(955, 8364);

-- The query planner uses the indexes (the plans are part of the output).
EXPLAIN QUERY PLAN SELECT * FROM orders WHERE customer = 42;
EXPLAIN QUERY PLAN SELECT * FROM customer WHERE city = 'Quito' AND since > 2010;

-- A view and a trigger.
CREATE VIEW big_orders AS
SELECT o.id, c.name, p.label, o.qty FROM orders o
JOIN customer c ON c.id = o.customer JOIN product p ON p.id = o.product
WHERE o.qty >= 18;
CREATE TABLE audit(n INTEGER PRIMARY KEY, what TEXT);
CREATE TRIGGER orders_del AFTER DELETE ON orders BEGIN
    INSERT INTO audit(what) VALUES ('deleted ' || old.id);
END;
SELECT count(*), min(id), max(id) FROM big_orders;
DELETE FROM orders WHERE id IN (SELECT id FROM big_orders ORDER BY id LIMIT 5);
SELECT * FROM audit ORDER BY n;

-- A bigger transaction of blobs, so the WAL spans many pages, then a checkpoint.
CREATE TABLE blobs(id INTEGER PRIMARY KEY, b BLOB);
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
INSERT INTO blobs SELECT i, zeroblob(1000 + i * 7) FROM n;
COMMIT;
SELECT 'blobs', count(*), sum(length(b)) FROM blobs;
PRAGMA wal_checkpoint(FULL);
VACUUM;
PRAGMA journal_mode;

PRAGMA integrity_check;
PRAGMA foreign_key_check;
SELECT 'schema', type, name, tbl_name FROM sqlite_schema ORDER BY type, name;
SELECT 'done';
