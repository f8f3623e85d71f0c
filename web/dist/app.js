/* steadfast dashboard. Bundles Preact 10 (MIT, (c) 2015-present Jason Miller) and htm 3 (Apache-2.0, (c) 2018 Google Inc.). */
(()=>{var ot,h,It,Pe,W,Mt,jt,Ft,$t,X,Q,Bt,vt,ht,gt,Le,et={},rt=[],Re=/acit|ex(?:s|g|n|p|$)|rph|grid|ows|mnc|ntw|ine[ch]|zoo|^ord|itera/i,st=Array.isArray;function q(e,t){for(var r in t)e[r]=t[r];return e}function bt(e){e&&e.parentNode&&e.parentNode.removeChild(e)}function yt(e,t,r){var n,s,o,a={};for(o in t)o=="key"?n=t[o]:o=="ref"?s=t[o]:a[o]=t[o];if(arguments.length>2&&(a.children=arguments.length>3?ot.call(arguments,2):r),typeof e=="function"&&e.defaultProps!=null)for(o in e.defaultProps)a[o]===void 0&&(a[o]=e.defaultProps[o]);return Z(e,a,n,s,null)}function Z(e,t,r,n,s){var o={type:e,props:t,key:r,ref:n,__k:null,__:null,__b:0,__e:null,__c:null,constructor:void 0,__v:s??++It,__i:-1,__u:0};return s==null&&h.vnode!=null&&h.vnode(o),o}function at(e){return e.children}function tt(e,t){this.props=e,this.context=t}function O(e,t){if(t==null)return e.__?O(e.__,e.__i+1):null;for(var r;t<e.__k.length;t++)if((r=e.__k[t])!=null&&r.__e!=null)return r.__e;return typeof e.type=="function"?O(e):null}function qe(e){if(e.__P&&e.__d){var t=e.__v,r=t.__e,n=[],s=[],o=q({},t);o.__v=t.__v+1,h.vnode&&h.vnode(o),kt(e.__P,o,t,e.__n,e.__P.namespaceURI,32&t.__u?[r]:null,n,r??O(t),!!(32&t.__u),s),o.__v=t.__v,o.__.__k[o.__i]=o,Gt(n,o,s),t.__e=t.__=null,o.__e!=r&&Jt(o)}}function Jt(e){if((e=e.__)!=null&&e.__c!=null)return e.__e=e.__c.base=null,e.__k.some(function(t){if(t!=null&&t.__e!=null)return e.__e=e.__c.base=t.__e}),Jt(e)}function Ot(e){(!e.__d&&(e.__d=!0)&&W.push(e)&&!nt.__r++||Mt!=h.debounceRendering)&&((Mt=h.debounceRendering)||jt)(nt)}function nt(){try{for(var e,t=1;W.length;)W.length>t&&W.sort(Ft),e=W.shift(),t=W.length,qe(e)}finally{W.length=nt.__r=0}}function Qt(e,t,r,n,s,o,a,l,d,u,p){var f,i,c,m,k,x,S=n&&n.__k||rt,$=t.length;for(d=Ae(r,t,S,d,$),f=0;f<$;f++)(c=r.__k[f])!=null&&(i=c.__i!=-1&&S[c.__i]||et,c.__i=f,x=kt(e,c,i,s,o,a,l,d,u,p),m=c.__e,c.ref&&i.ref!=c.ref&&(i.ref&&wt(i.ref,null,c),p.push(c.ref,c.__c||m,c)),k==null&&m!=null&&(k=m),4&c.__u?(d=Vt(c,d,e),i.__e&&(i.__e=null)):typeof c.type=="function"&&x!==void 0?d=x:m&&(d=m.nextSibling),c.__u&=-7);return r.__e=k,d}function Ae(e,t,r,n,s){var o,a,l,d,u,p=r.length,f=p,i=0;for(e.__k=new Array(s),o=0;o<s;o++)(a=t[o])!=null&&typeof a!="boolean"&&typeof a!="function"?(typeof a=="string"||typeof a=="number"||typeof a=="bigint"||a.constructor==String?a=e.__k[o]=Z(null,a,null,null,null):st(a)?a=e.__k[o]=Z(at,{children:a},null,null,null):a.constructor===void 0&&a.__b>0?a=e.__k[o]=Z(a.type,a.props,a.key,a.ref?a.ref:null,a.__v):e.__k[o]=a,d=o+i,a.__=e,a.__b=e.__b+1,l=null,(u=a.__i=We(a,r,d,f))!=-1&&(f--,(l=r[u])&&(l.__u|=2)),l==null||l.__v==null?(u==-1&&(s>p?i--:s<p&&i++),typeof a.type!="function"&&(a.__u|=4)):u!=d&&(u==d-1?i--:u==d+1?i++:(u>d?i--:i++,a.__u|=4))):e.__k[o]=null;if(f)for(o=0;o<p;o++)(l=r[o])!=null&&(2&l.__u)==0&&(l.__e==n&&(n=O(l)),Yt(l,l));return n}function Vt(e,t,r){var n,s;if(typeof e.type=="function"){for(n=e.__k,s=0;n&&s<n.length;s++)n[s]&&(n[s].__=e,t=Vt(n[s],t,r));return t}e.__e!=t&&(t&&e.type&&!t.parentNode&&(t=O(e)),t=r.insertBefore(e.__e,t||null));do t=t&&t.nextSibling;while(t!=null&&t.nodeType==8);return t}function We(e,t,r,n){var s,o,a,l=e.key,d=e.type,u=t[r],p=u!=null&&(2&u.__u)==0;if(u===null&&l==null||p&&l==u.key&&d==u.type)return r;if(n>(p?1:0)){for(s=r-1,o=r+1;s>=0||o<t.length;)if((u=t[a=s>=0?s--:o++])!=null&&(2&u.__u)==0&&l==u.key&&d==u.type)return a}return-1}function Ut(e,t,r){t[0]=="-"?e.setProperty(t,r??""):e[t]=r==null?"":typeof r!="number"||Re.test(t)?r:r+"px"}function Y(e,t,r,n,s){var o,a;t:if(t=="style")if(typeof r=="string")e.style.cssText=r;else{if(typeof n=="string"&&(e.style.cssText=n=""),n)for(t in n)r&&t in r||Ut(e.style,t,"");if(r)for(t in r)n&&r[t]==n[t]||Ut(e.style,t,r[t])}else if(t[0]=="o"&&t[1]=="n")o=t!=(t=t.replace(Bt,"$1")),a=t.toLowerCase(),t=a in e||t=="onFocusOut"||t=="onFocusIn"?a.slice(2):t.slice(2),e.l||(e.l={}),e.l[t+o]=r,r?n?r[Q]=n[Q]:(r[Q]=vt,e.addEventListener(t,o?gt:ht,o)):e.removeEventListener(t,o?gt:ht,o);else{if(s=="http://www.w3.org/2000/svg")t=t.replace(/xlink(H|:h)/,"h").replace(/sName$/,"s");else if(t!="width"&&t!="height"&&t!="href"&&t!="list"&&t!="form"&&t!="tabIndex"&&t!="download"&&t!="rowSpan"&&t!="colSpan"&&t!="role"&&t!="popover"&&t in e)try{e[t]=r??"";break t}catch{}typeof r=="function"||(r==null||r===!1&&t[4]!="-"?e.removeAttribute(t):e.setAttribute(t,t=="popover"&&r==1?"":r))}}function Ht(e){return function(t){if(this.l){var r=this.l[t.type+e];if(t[X]==null)t[X]=vt++;else if(t[X]<r[Q])return;return r(h.event?h.event(t):t)}}}function kt(e,t,r,n,s,o,a,l,d,u){var p,f,i,c,m,k,x,S,$,D,B,M,J,Wt,K,mt,P=t.type;if(t.constructor!==void 0)return null;128&r.__u&&(d=!!(32&r.__u),o=[l=t.__e=r.__e]),(p=h.__b)&&p(t);t:if(typeof P=="function"){f=a.length;try{if($=t.props,D=P.prototype&&P.prototype.render,B=(p=P.contextType)&&n[p.__c],M=p?B?B.props.value:p.__:n,r.__c?S=(i=t.__c=r.__c).__=i.__E:(D?t.__c=i=new P($,M):(t.__c=i=new tt($,M),i.constructor=P,i.render=Oe),B&&B.sub(i),i.state||(i.state={}),i.__n=n,c=i.__d=!0,i.__h=[],i._sb=[]),D&&i.__s==null&&(i.__s=i.state),D&&P.getDerivedStateFromProps!=null&&(i.__s==i.state&&(i.__s=q({},i.__s)),q(i.__s,P.getDerivedStateFromProps($,i.__s))),m=i.props,k=i.state,i.__v=t,c)D&&P.getDerivedStateFromProps==null&&i.componentWillMount!=null&&i.componentWillMount(),D&&i.componentDidMount!=null&&i.__h.push(i.componentDidMount);else{if(D&&P.getDerivedStateFromProps==null&&$!==m&&i.componentWillReceiveProps!=null&&i.componentWillReceiveProps($,M),t.__v==r.__v||!i.__e&&i.shouldComponentUpdate!=null&&i.shouldComponentUpdate($,i.__s,M)===!1){t.__v!=r.__v&&(i.props=$,i.state=i.__s,i.__d=!1),t.__e=r.__e,t.__k=r.__k,t.__k.some(function(I){I&&(I.__=t)}),rt.push.apply(i.__h,i._sb),i._sb=[],i.__h.length&&a.push(i),l=O(r);break t}i.componentWillUpdate!=null&&i.componentWillUpdate($,i.__s,M),D&&i.componentDidUpdate!=null&&i.__h.push(function(){i.componentDidUpdate(m,k,x)})}if(i.context=M,i.props=$,i.__P=e,i.__e=!1,J=h.__r,Wt=0,D)i.state=i.__s,i.__d=!1,J&&J(t),p=i.render(i.props,i.state,i.context),rt.push.apply(i.__h,i._sb),i._sb=[];else do i.__d=!1,J&&J(t),p=i.render(i.props,i.state,i.context),i.state=i.__s;while(i.__d&&++Wt<25);i.state=i.__s,i.getChildContext!=null&&(n=q(q({},n),i.getChildContext())),D&&!c&&i.getSnapshotBeforeUpdate!=null&&(x=i.getSnapshotBeforeUpdate(m,k)),K=p!=null&&p.type===at&&p.key==null?Kt(p.props.children):p,l=Qt(e,st(K)?K:[K],t,r,n,s,o,a,l,d,u),i.base=t.__e,t.__u&=-161,i.__h.length&&a.push(i),S&&(i.__E=i.__=null)}catch(I){if(a.length=f,t.__v=null,d||o!=null){if(I.then){for(t.__u|=d?160:128;l&&l.nodeType==8&&l.nextSibling;)l=l.nextSibling;o!=null&&(o[o.indexOf(l)]=null),t.__e=l}else if(o!=null)for(mt=o.length;mt--;)bt(o[mt])}else t.__e=r.__e;t.__k==null&&(t.__k=r.__k||[]),I.then||zt(t),h.__e(I,t,r)}}else o==null&&t.__v==r.__v?(t.__k=r.__k,t.__e=r.__e):l=t.__e=Me(r.__e,t,r,n,s,o,a,d,u);return(p=h.diffed)&&p(t),128&t.__u?void 0:l}function zt(e){e&&(e.__c&&(e.__c.__e=!0),e.__k&&e.__k.some(zt))}function Gt(e,t,r){for(var n=0;n<r.length;n++)wt(r[n],r[++n],r[++n]);h.__c&&h.__c(t,e),e.some(function(s){try{e=s.__h,s.__h=[],e.some(function(o){o.call(s)})}catch(o){h.__e(o,s.__v)}})}function Kt(e){return typeof e!="object"||e==null||e.__b>0?e:st(e)?e.map(Kt):e.constructor!==void 0?null:q({},e)}function Me(e,t,r,n,s,o,a,l,d){var u,p,f,i,c,m,k,x=r.props||et,S=t.props,$=t.type;if($=="svg"?s="http://www.w3.org/2000/svg":$=="math"?s="http://www.w3.org/1998/Math/MathML":s||(s="http://www.w3.org/1999/xhtml"),o!=null){for(u=0;u<o.length;u++)if((c=o[u])&&"setAttribute"in c==!!$&&($?c.localName==$:c.nodeType==3)){e=c,o[u]=null;break}}if(e==null){if($==null)return document.createTextNode(S);e=document.createElementNS(s,$,S.is&&S),l&&(h.__m&&h.__m(t,o),l=!1),o=null}if($==null)x===S||l&&e.data==S||(e.data=S);else{if(o=$=="textarea"&&S.defaultValue!=null?null:o&&ot.call(e.childNodes),!l&&o!=null)for(x={},u=0;u<e.attributes.length;u++)x[(c=e.attributes[u]).name]=c.value;for(u in x)c=x[u],u=="dangerouslySetInnerHTML"?f=c:u=="children"||u in S||u=="value"&&"defaultValue"in S||u=="checked"&&"defaultChecked"in S||Y(e,u,null,c,s);for(u in S)c=S[u],u=="children"?i=c:u=="dangerouslySetInnerHTML"?p=c:u=="value"?m=c:u=="checked"?k=c:l&&typeof c!="function"||x[u]===c||Y(e,u,c,x[u],s);if(p)l||f&&(p.__html==f.__html||p.__html==e.innerHTML)||(e.innerHTML=p.__html),t.__k=[];else if(f&&(e.innerHTML=""),Qt(t.type=="template"?e.content:e,st(i)?i:[i],t,r,n,$=="foreignObject"?"http://www.w3.org/1999/xhtml":s,o,a,o?o[0]:r.__k&&O(r,0),l,d),o!=null)for(u=o.length;u--;)bt(o[u]);l&&$!="textarea"||(u="value",$=="progress"&&m==null?e.removeAttribute("value"):m!=null&&(m!==e[u]||$=="progress"&&!m||$=="option"&&m!=x[u])&&Y(e,u,m,x[u],s),u="checked",k!=null&&k!=e[u]&&Y(e,u,k,x[u],s))}return e}function wt(e,t,r){try{if(typeof e=="function"){var n=typeof e.__u=="function";n&&e.__u(),n&&t==null||(e.__u=e(t))}else e.current=t}catch(s){h.__e(s,r)}}function Yt(e,t,r){var n,s;if(h.unmount&&h.unmount(e),(n=e.ref)&&(n.current&&n.current!=e.__e||wt(n,null,t)),(n=e.__c)!=null){if(n.componentWillUnmount)try{n.componentWillUnmount()}catch(o){h.__e(o,t)}n.base=n.__P=n.__n=null}if(n=e.__k)for(s=0;s<n.length;s++)n[s]&&Yt(n[s],t,r||typeof e.type!="function");r||bt(e.__e),e.__c=e.__=e.__e=void 0}function Oe(e,t,r){return this.constructor(e,r)}function Xt(e,t,r){var n,s,o,a;t==document&&(t=document.documentElement),h.__&&h.__(e,t),s=(n=typeof r=="function")?null:r&&r.__k||t.__k,o=[],a=[],kt(t,e=(!n&&r||t).__k=yt(at,null,[e]),s||et,et,t.namespaceURI,!n&&r?[r]:s?null:t.firstChild?ot.call(t.childNodes):null,o,!n&&r?r:s?s.__e:t.firstChild,n,a),Gt(o,e,a),e.props.children=null}ot=rt.slice,h={__e:function(e,t,r,n){for(var s,o,a;t=t.__;)if((s=t.__c)&&!s.__)try{if((o=s.constructor)&&o.getDerivedStateFromError!=null&&(s.setState(o.getDerivedStateFromError(e)),a=s.__d),s.componentDidCatch!=null&&(s.componentDidCatch(e,n||{}),a=s.__d),a)return s.__E=s}catch(l){e=l}throw e}},It=0,Pe=function(e){return e!=null&&e.constructor===void 0},tt.prototype.setState=function(e,t){var r;r=this.__s!=null&&this.__s!=this.state?this.__s:this.__s=q({},this.state),typeof e=="function"&&(e=e(q({},r),this.props)),e&&q(r,e),e!=null&&this.__v&&(t&&this._sb.push(t),Ot(this))},tt.prototype.forceUpdate=function(e){this.__v&&(this.__e=!0,e&&this.__h.push(e),Ot(this))},tt.prototype.render=at,W=[],jt=typeof Promise=="function"?Promise.prototype.then.bind(Promise.resolve()):setTimeout,Ft=function(e,t){return e.__v.__b-t.__v.__b},nt.__r=0,$t=Math.random().toString(8),X="__d"+$t,Q="__a"+$t,Bt=/(PointerCapture)$|Capture$/i,vt=0,ht=Ht(!1),gt=Ht(!0),Le=0;var V,b,xt,Zt,z=0,ie=[],w=h,te=w.__b,ee=w.__r,re=w.diffed,ne=w.__c,oe=w.unmount,se=w.__;function Tt(e,t){w.__h&&w.__h(b,e,z||t),z=0;var r=b.__H||(b.__H={__:[],__h:[]});return e>=r.__.length&&r.__.push({}),r.__[e]}function g(e){return z=1,Ue(ce,e)}function Ue(e,t,r){var n=Tt(V++,2);if(n.t=e,!n.__c&&(n.__=[r?r(t):ce(void 0,t),function(l){var d=n.__N?n.__N[0]:n.__[0],u=n.t(d,l);d!==u&&(n.__N=[u,n.__[1]],n.__c.setState({}))}],n.__c=b,!b.__f)){var s=function(l,d,u){if(!n.__c.__H)return!0;var p=!1,f=n.__c.props!==l;if(n.__c.__H.__.some(function(c){if(c.__N){p=!0;var m=c.__[0];c.__=c.__N,c.__N=void 0,m!==c.__[0]&&(f=!0)}}),o){var i=o.call(this,l,d,u);return p?i||f:i}return!p||f};b.__f=!0;var o=b.shouldComponentUpdate,a=b.componentWillUpdate;b.componentWillUpdate=function(l,d,u){if(this.__e){var p=o;o=void 0,s(l,d,u),o=p}a&&a.call(this,l,d,u)},b.shouldComponentUpdate=s}return n.__N||n.__}function E(e,t){var r=Tt(V++,3);!w.__s&&le(r.__H,t)&&(r.__=e,r.u=t,b.__H.__h.push(r))}function ut(e){return z=5,ue(function(){return{current:e}},[])}function ue(e,t){var r=Tt(V++,7);return le(r.__H,t)&&(r.__=e(),r.__H=t,r.__h=e),r.__}function lt(e,t){return z=8,ue(function(){return e},t)}function He(){for(var e;e=ie.shift();){var t=e.__H;if(e.__P&&t)try{t.__h.some(it),t.__h.some(St),t.__h=[]}catch(r){t.__h=[],w.__e(r,e.__v)}}}w.__b=function(e){b=null,te&&te(e)},w.__=function(e,t){e&&t.__k&&t.__k.__m&&(e.__m=t.__k.__m),se&&se(e,t)},w.__r=function(e){ee&&ee(e),V=0;var t=(b=e.__c).__H;t&&(xt===b?(t.__h=[],b.__h=[],t.__.some(function(r){r.__N&&(r.__=r.__N),r.u=r.__N=void 0})):(t.__h.some(it),t.__h.some(St),t.__h=[],V=0)),xt=b},w.diffed=function(e){re&&re(e);var t=e.__c;t&&t.__H&&(t.__H.__h.length&&(ie.push(t)!==1&&Zt===w.requestAnimationFrame||((Zt=w.requestAnimationFrame)||Ie)(He)),t.__H.__.some(function(r){r.u&&(r.__H=r.u,r.u=void 0)})),xt=b=null},w.__c=function(e,t){t.some(function(r){try{r.__h.some(it),r.__h=r.__h.filter(function(n){return!n.__||St(n)})}catch(n){t.some(function(s){s.__h&&(s.__h=[])}),t=[],w.__e(n,r.__v)}}),ne&&ne(e,t)},w.unmount=function(e){oe&&oe(e);var t,r=e.__c;r&&r.__H&&(r.__H.__.some(function(n){try{it(n)}catch(s){t=s}}),r.__H=void 0,t&&w.__e(t,r.__v))};var ae=typeof requestAnimationFrame=="function";function Ie(e){var t,r=function(){clearTimeout(n),ae&&cancelAnimationFrame(t),setTimeout(e)},n=setTimeout(r,35);ae&&(t=requestAnimationFrame(r))}function it(e){var t=b,r=e.__c;typeof r=="function"&&(e.__c=void 0,r()),b=t}function St(e){var t=b;e.__c=e.__(),b=t}function le(e,t){return!e||e.length!==t.length||t.some(function(r,n){return r!==e[n]})}function ce(e,t){return typeof t=="function"?t(e):t}var Ct="steadfast.token",ct=class extends Error{constructor(t,r,n){super(r),this.status=t,this.problem=n}};function Nt(){return sessionStorage.getItem(Ct)||""}function Dt(e){e?sessionStorage.setItem(Ct,e):sessionStorage.removeItem(Ct)}var Et=new Set;function _e(e){return Et.add(e),()=>Et.delete(e)}async function de(e,t,r){let n={Accept:"application/json"},s=Nt();s&&(n.Authorization=`Bearer ${s}`);let o={method:e,headers:n,cache:"no-store"};r!==void 0&&(n["Content-Type"]="application/json",o.body=JSON.stringify(r));let a;try{a=await fetch(t,o)}catch(u){throw new ct(0,`the server did not answer (${u.message})`,null)}let l=await a.text(),d=null;try{d=l?JSON.parse(l):null}catch{d=null}if(!a.ok){a.status===401&&Et.forEach(p=>p());let u=d&&d.detail||`${a.status} ${a.statusText}`;throw new ct(a.status,u,d)}return d}var v=e=>de("GET",e),L=(e,t)=>de("POST",e,t===void 0?{}:t);function _t(e){let t=new URLSearchParams;for(let[n,s]of Object.entries(e))s!=null&&s!==""&&t.set(n,s);let r=t.toString();return r?`?${r}`:""}var fe=function(e,t,r,n){var s;t[0]=0;for(var o=1;o<t.length;o++){var a=t[o++],l=t[o]?(t[0]|=a?1:2,r[t[o++]]):t[++o];a===3?n[0]=l:a===4?n[1]=Object.assign(n[1]||{},l):a===5?(n[1]=n[1]||{})[t[++o]]=l:a===6?n[1][t[++o]]+=l+"":a?(s=e.apply(l,fe(e,l,r,["",null])),n.push(s),l[0]?t[0]|=2:(t[o-2]=0,t[o]=s)):n.push(l)}return n},pe=new Map;function me(e){var t=pe.get(this);return t||(t=new Map,pe.set(this,t)),(t=fe(this,t.get(e)||(t.set(e,t=(function(r){for(var n,s,o=1,a="",l="",d=[0],u=function(i){o===1&&(i||(a=a.replace(/^\s*\n\s*|\s*\n\s*$/g,"")))?d.push(0,i,a):o===3&&(i||a)?(d.push(3,i,a),o=2):o===2&&a==="..."&&i?d.push(4,i,0):o===2&&a&&!i?d.push(5,0,!0,a):o>=5&&((a||!i&&o===5)&&(d.push(o,0,a,s),o=6),i&&(d.push(o,i,0,s),o=6)),a=""},p=0;p<r.length;p++){p&&(o===1&&u(),u(p));for(var f=0;f<r[p].length;f++)n=r[p][f],o===1?n==="<"?(u(),d=[d],o=3):a+=n:o===4?a==="--"&&n===">"?(o=1,a=""):a=n+a[0]:l?n===l?l="":a+=n:n==='"'||n==="'"?l=n:n===">"?(u(),o=1):o&&(n==="="?(o=5,s=a,a=""):n==="/"&&(o<5||r[p][f+1]===">")?(u(),o===3&&(d=d[0]),o=d,(d=d[0]).push(2,0,o),o=0):n===" "||n==="	"||n===`
`||n==="\r"?(u(),o=2):a+=n),o===3&&a==="!--"&&(o=4,d=d[0])}return u(),d})(e)),t),arguments,[])).length>1?t:t[0]}var _=me.bind(yt);function $e(e){let t=e.replace(/^#/,"")||"/",r=t.indexOf("?"),n=r<0?t:t.slice(0,r),s=new URLSearchParams(r<0?"":t.slice(r+1));return{parts:n.split("/").filter(Boolean).map(decodeURIComponent),params:s}}function he(){let[e,t]=g(()=>$e(location.hash));return E(()=>{let r=()=>t($e(location.hash));return addEventListener("hashchange",r),()=>removeEventListener("hashchange",r)},[]),e}function dt(e,t,r=!1){let n=t?new URLSearchParams(t).toString():"",s=`#${e}${n?`?${n}`:""}`;r?history.replaceState(null,"",s):location.hash=s,r&&dispatchEvent(new HashChangeEvent("hashchange"))}var j=e=>`#/runs/${encodeURIComponent(e)}`;var ge=["queued","running","retrying","completed","failed","cancelled"];function U({status:e}){return _`<span class=${`status status-${e}`} data-status=${e}>${e}</span>`}function y({error:e}){return e?_`<p class="error" role="alert">${e}</p>`:null}function Pt({value:e}){return e==null?_`<span class="muted">none</span>`:_`<pre class="json">${JSON.stringify(e,null,2)}</pre>`}function T({head:e,rows:t,empty:r="Nothing here.",testid:n}){return _`
    <div class="table-wrap">
      <table data-testid=${n}>
        <thead><tr>${e.map(s=>_`<th>${s}</th>`)}</tr></thead>
        <tbody>
          ${t.length?t:_`<tr><td colspan=${e.length} class="muted">${r}</td></tr>`}
        </tbody>
      </table>
    </div>`}function R({label:e,confirm:t,run:r,danger:n=!1,testid:s}){let[o,a]=g(!1),[l,d]=g(!1),[u,p]=g(null),f=async()=>{a(!1),d(!0),p(null);try{let c=await r();p(c?{ok:!0,text:c}:null)}catch(c){p({ok:!1,text:c.message})}finally{d(!1)}},i=n?"button danger":"button";return _`
    <span class="action">
      ${o?_`<span class="confirm" role="group">
            <span>${t}</span>
            <button class=${i} data-testid=${s&&`${s}-confirm`} onClick=${f}>Yes, ${e.toLowerCase()}</button>
            <button class="button plain" onClick=${()=>a(!1)}>Cancel</button>
          </span>`:_`<button class=${i} disabled=${l} data-testid=${s}
            onClick=${()=>t?a(!0):f()}>${l?`${e}…`:e}</button>`}
      ${u&&_`<span class=${u.ok?"note ok":"note error"} role=${u.ok?"status":"alert"}>${u.text}</span>`}
    </span>`}var pt=600,H=150,F=4;function je(e,t){let r="",n=!1,s=e.length>1?(pt-2*F)/(e.length-1):0;return e.forEach((o,a)=>{if(o==null){n=!1;return}let l=F+a*s,d=H-F-(t>0?o/t*(H-2*F):0);r+=`${n?"L":"M"}${l.toFixed(1)} ${d.toFixed(1)}`,n=!0}),r}function Lt({title:e,minutes:t,series:r,testid:n,summary:s="total"}){let o=Math.max(1,...r.flatMap(i=>i.values.filter(c=>c!=null))),a=t[0]?new Date(t[0]):null,l=t.length?new Date(t[t.length-1]):null,d=i=>i?i.toLocaleTimeString(void 0,{hour:"2-digit",minute:"2-digit",hour12:!1}):"",f=s==="last"?i=>[...i.values].reverse().find(c=>c!=null)??"—":i=>i.values.reduce((c,m)=>c+(m||0),0);return _`
    <figure class="chart" data-testid=${n}>
      <figcaption>${e}</figcaption>
      <div class="chart-body">
        <span class="chart-max">${o}</span>
        <svg viewBox=${`0 0 ${pt} ${H}`} preserveAspectRatio="none" role="img" aria-label=${e}>
          <line class="grid" x1="0" x2=${pt} y1=${H/2} y2=${H/2} />
          <line class="axis" x1="0" x2=${pt} y1=${H-F} y2=${H-F} />
          ${r.map(i=>_`<path class=${`line ${i.tone}`} d=${je(i.values,o)} />`)}
        </svg>
      </div>
      <div class="chart-foot"><span>${d(a)}</span><span>${d(l)}</span></div>
      <ul class="legend">
        ${r.map(i=>_`<li><i class=${`swatch ${i.tone}`}></i>${i.name} <b>${f(i)}</b></li>`)}
      </ul>
    </figure>`}function C(e,t,{ms:r=2e3,live:n=!0}={}){let[s,o]=g({data:null,error:null,loading:!0}),a=ut(0),l=lt(async()=>{let d=++a.current;try{let u=await e();d===a.current&&o({data:u,error:null,loading:!1})}catch(u){d===a.current&&o(p=>({data:p.data,error:u.message,loading:!1}))}},t);return E(()=>{if(o(u=>({...u,loading:!0})),l(),!n)return()=>a.current++;let d=setInterval(()=>{document.visibilityState==="visible"&&l()},r);return()=>{clearInterval(d),a.current++}},[l,n,r]),{...s,reload:l}}function N(e,t=Date.now()){if(!e)return"—";let r=Math.round((t-Date.parse(e))/1e3);return r<0?`in ${G(-r*1e3)}`:r<5?"just now":`${G(r*1e3)} ago`}function G(e){if(e==null||Number.isNaN(e))return"—";if(e<1e3)return`${Math.round(e)} ms`;let t=e/1e3;if(t<60)return`${t<10?t.toFixed(1):Math.round(t)} s`;let r=Math.floor(t/60);if(r<60)return`${r} min ${Math.round(t%60)} s`;let n=Math.floor(r/60);return n<48?`${n} h ${r%60} min`:`${Math.floor(n/24)} d ${n%24} h`}function A(e){return e?new Date(e).toLocaleString(void 0,{hour12:!1}):"—"}var Rt=(e,t)=>e&&t?Date.parse(t)-Date.parse(e):null;function qt(e){if(!e)return null;let t=e.until?` (until ${A(e.until)}, ${N(e.until)})`:"";switch(e.kind){case"retry":return`waiting to retry${t}`;case"sleep":return`sleeping${t}`;case"signal":return`waiting for the signal “${e.signal}”${t}`;case"child":return`waiting for the child run ${e.run_id} to finish`;case"limiter":return`held by the limiter “${e.limiter}”${e.key?` (key ${e.key})`:""}${t}`;case"fairness":return`queued behind other keys of queue “${e.queue}” (fairness, key ${e.key})`;case"max_parallel":return"waiting: the step’s max_parallel is reached";case"queue_paused":return`waiting: queue “${e.queue}” is paused`;case"no_worker":return`waiting: no live worker reads queue “${e.queue}”`;case"scheduled":return`scheduled${t}`;case"needs":return"waiting for the steps it needs";default:return`waiting (${e.kind})${t}`}}function ft(e,t){let r=new Array(t).fill(null);for(let n of Object.values(e||{}))n.forEach((s,o)=>{s!=null&&(r[o]=(r[o]||0)+s)});return r}var ve=["c1","c2","c3","c4","c5","c6"];function be(){let{data:e,error:t}=C(async()=>{let[u,p,f,i]=await Promise.all([v("/v1/stats/series"),v("/v1/queues"),v("/v1/dlq?limit=1000"),v("/v1/workers")]);return{series:u,queues:p.queues,dead:f.dead_letters,workers:i.workers}},[],{ms:5e3});if(!e)return _`<${y} error=${t} />${!t&&_`<p class="muted">Loading…</p>`}`;let{series:r,queues:n,dead:s,workers:o}=e,a=r.minutes.length,l=r.counts||{},d=o.filter(u=>Date.now()-Date.parse(u.beat_at)<15e3).length;return _`
    <${y} error=${t} />
    <section class="cards">
      <a class="card" href="#/dlq" data-testid="card-dlq"><b>${s.length}${s.length>=1e3?"+":""}</b> dead letters</a>
      <a class="card" href="#/workers"><b>${d}</b> live workers</a>
      <a class="card" href="#/queues"><b>${n.reduce((u,p)=>u+p.waiting,0)}</b> steps waiting</a>
      <a class="card" href="#/queues"><b>${n.filter(u=>u.paused).length}</b> paused queues</a>
    </section>
    <section class="charts">
      <${Lt} testid="chart-throughput" title="Runs per minute (last hour)" minutes=${r.minutes}
        series=${[{name:"submitted",values:ft(l.submitted,a),tone:"c2"},{name:"completed",values:ft(l.completed,a),tone:"ok"},{name:"retried steps",values:ft(l.retried,a),tone:"warn"},{name:"failed",values:ft(l.failed,a),tone:"bad"}]} />
      <${Lt} testid="chart-depth" title="Queue depth (entries at each minute)" minutes=${r.minutes}
        summary="last"
        series=${Object.entries(r.queue_depth||{}).map(([u,p],f)=>({name:u,values:p,tone:ve[f%ve.length]}))} />
    </section>
    <h2>Queues</h2>
    <${T} head=${["Queue","Waiting","In flight","Workers","Per minute",""]}
      rows=${n.map(u=>_`<tr>
        <td>${u.name}</td><td>${u.waiting}</td><td>${u.in_flight}</td><td>${u.workers}</td>
        <td>${u.throughput_per_minute??"—"}</td><td>${u.paused?_`<span class="status status-paused">paused</span>`:""}</td>
      </tr>`)} />
    <h2>Newest dead letters</h2>
    <${T} head=${["Run","Workflow","Step","Error","When"]} empty="No dead letters."
      rows=${s.slice(0,5).map(u=>_`<tr>
        <td><a href=${`#/runs/${u.run_id}`} class="mono">${u.run_id}</a></td><td>${u.workflow}</td>
        <td>${u.step}</td><td class="clip">${u.error}</td><td>${N(u.at)}</td>
      </tr>`)} />`}var ye=["workflow","status","meta","created_after","created_before"];function Fe(e){let t={};for(let r of(e||"").split(/[\s,]+/).filter(Boolean)){let n=r.indexOf("=");n>0&&(t[`meta.${r.slice(0,n)}`]=r.slice(n+1))}return t}var ke=e=>e?new Date(e).toISOString():"";function we({params:e}){let t=Object.fromEntries(ye.map(c=>[c,e.get(c)||""])),r=e.get("cursor")||"",[n,s]=g(!0),[o,a]=g([]),l=ut([]);E(()=>{v("/v1/workflows").then(c=>a(c.workflows.map(m=>m.name)),()=>{})},[]);let d=JSON.stringify([t,r]),{data:u,error:p}=C(()=>v(`/v1/runs${_t({workflow:t.workflow,status:t.status,created_after:ke(t.created_after),created_before:ke(t.created_before),limit:50,cursor:r,...Fe(t.meta)})}`),[d],{live:n&&!r}),f=(c,m=!1)=>{m||(l.current=[]);let k={...t,cursor:r,...c};m||(k.cursor=""),dt("/runs",Object.fromEntries(Object.entries(k).filter(([,x])=>x)),!0)};return _`
    <form class="filters" onSubmit=${c=>{c.preventDefault();let m=new FormData(c.currentTarget);f(Object.fromEntries(ye.map(k=>[k,String(m.get(k)||"").trim()])))}} data-testid="run-filters">
      <label>Workflow
        <select name="workflow" value=${t.workflow} onChange=${c=>f({workflow:c.currentTarget.value})}>
          <option value="">any</option>
          ${o.map(c=>_`<option value=${c}>${c}</option>`)}
        </select>
      </label>
      <label>Status
        <select name="status" value=${t.status} data-testid="filter-status"
          onChange=${c=>f({status:c.currentTarget.value})}>
          <option value="">any</option>
          ${ge.map(c=>_`<option value=${c}>${c}</option>`)}
        </select>
      </label>
      <label class="grow">Metadata
        <input name="meta" value=${t.meta} placeholder="customer=acme region=eu" data-testid="filter-meta" />
      </label>
      <label>Created after
        <input name="created_after" type="datetime-local" value=${t.created_after} />
      </label>
      <label>Created before
        <input name="created_before" type="datetime-local" value=${t.created_before} />
      </label>
      <button class="button" type="submit" data-testid="filter-apply">Filter</button>
      <label class="check"><input type="checkbox" checked=${n} onChange=${c=>s(c.currentTarget.checked)} /> live</label>
    </form>
    <${y} error=${p} />
    <${T} testid="runs-table" head=${["Run","Workflow","Status","Metadata","Created","Updated"]}
      empty=${u?"No run matches.":"Loading…"}
      rows=${(u?u.runs:[]).map(c=>_`<tr data-run=${c.id}>
        <td><a class="mono" href=${j(c.id)}>${c.id}</a></td>
        <td>${c.workflow}</td>
        <td><${U} status=${c.status} /></td>
        <td class="meta">${Object.entries(c.metadata||{}).map(([m,k])=>_`<span class="tag">${m}=${k}</span>`)}</td>
        <td title=${c.created_at}>${N(c.created_at)}</td>
        <td title=${c.updated_at}>${N(c.updated_at)}</td>
      </tr>`)} />
    <nav class="pager">
      <button class="button plain" disabled=${!r}
        onClick=${()=>f({cursor:l.current.pop()||""},!0)}>← Newer</button>
      <button class="button plain" disabled=${!u||!u.next_cursor} data-testid="next-page"
        onClick=${()=>{l.current.push(r),f({cursor:u.next_cursor},!0)}}>Older →</button>
      ${r&&_`<span class="muted">live refresh pauses on older pages</span>`}
    </nav>`}var At=new Set(["completed","failed","cancelled"]);function Be({run:e,now:t}){let r=Date.parse(e.created_at),n=e.steps.map(l=>l.finished_at?Date.parse(l.finished_at):l.started_at?t:r),o=Math.max(r+1,...n,At.has(e.status)?Date.parse(e.updated_at):t)-r,a=l=>`${((l-r)/o*100).toFixed(2)}%`;return _`
    <ol class="timeline" data-testid="timeline">
      ${e.steps.map(l=>{let d=l.started_at?Date.parse(l.started_at):null,u=l.finished_at?Date.parse(l.finished_at):t;return _`<li class="step" data-step=${l.name} data-status=${l.status}>
          <div class="step-head">
            <b>${l.name}</b> <${U} status=${l.status} />
            <span class="muted">${l.attempts} attempt${l.attempts===1?"":"s"}</span>
            ${l.started_at&&_`<span class="muted">${G(Rt(l.started_at,l.finished_at||new Date(t).toISOString()))}</span>`}
          </div>
          <div class="track">
            ${d!==null&&_`<span class=${`bar status-${l.status}`}
              style=${{left:a(d),width:`max(2px, ${a(r+Math.max(0,u-d))})`}}></span>`}
          </div>
          ${l.waiting_for&&_`<p class="waiting">${qt(l.waiting_for)}</p>`}
          ${l.message&&_`<p class="muted">${l.message}${l.progress!==null?` (${Math.round(l.progress*100)}%)`:""}</p>`}
        </li>`})}
    </ol>`}function Je({step:e}){return _`
    <details class="step-details" data-step=${e.name} open=${e.status==="failed"}>
      <summary><b>${e.name}</b> <${U} status=${e.status} /> ${e.worker&&_`<span class="muted">on ${e.worker}</span>`}</summary>
      ${e.error&&_`<p class="error">${e.error}</p>`}
      <h4>Attempts</h4>
      <${T} head=${["#","Outcome","Worker","Started","Took","Error"]} empty="No finished attempt yet."
        rows=${(e.attempt_history||[]).map(t=>_`<tr>
          <td>${t.attempt}</td><td><${U} status=${t.outcome} /></td><td class="mono">${t.worker}</td>
          <td>${A(t.started_at)}</td><td>${G(Rt(t.started_at,t.finished_at))}</td>
          <td class="clip">${t.error||""}</td></tr>`)} />
      <h4>Output</h4>
      <${Pt} value=${e.output} />
    </details>`}function Qe({run:e,reload:t}){let[r,n]=g(e.steps.find(o=>o.status!=="completed")?.name||e.steps[0]?.name),s=At.has(e.status);return _`
    <div class="actions" data-testid="run-actions">
      ${!s&&_`<${R} label="Cancel" danger testid="cancel" confirm="Cancel this run?"
        run=${async()=>{let o=await L(`/v1/runs/${e.id}/cancel`);return t(),`run ${o.result}`}} />`}
      ${e.status==="failed"&&_`<${R} label="Replay" testid="replay"
        run=${async()=>(await L(`/v1/dlq/${e.id}/replay`),t(),"replayed: the failed step runs again")} />`}
      <span class="rerun">
        <label>Rerun from
          <select value=${r} onChange=${o=>n(o.currentTarget.value)} data-testid="rerun-step">
            ${e.steps.map(o=>_`<option value=${o.name}>${o.name}</option>`)}
          </select>
        </label>
        <${R} label="Rerun" testid="rerun" confirm=${`Start a new run from step “${r}”?`}
          run=${async()=>{let o=await L(`/v1/runs/${e.id}/rerun`,{from_step:r});dt(`/runs/${o.run_id}`)}} />
      </span>
    </div>`}function xe({id:e,me:t}){let[r,n]=g(!1),{data:s,error:o,reload:a}=C(()=>v(`/v1/runs/${encodeURIComponent(e)}`),[e],{ms:1500,live:!r}),l=s&&s.id===e?s.status:null;if(E(()=>n(At.has(l)),[l]),!s)return _`<${y} error=${o} />${!o&&_`<p class="muted">Loading…</p>`}`;let d=Date.now();return _`
    <${y} error=${o} />
    <header class="run-head">
      <h2><span class="mono" data-testid="run-id">${s.id}</span> <${U} status=${s.status} /></h2>
      <dl class="facts">
        <dt>Workflow</dt><dd>${s.workflow}</dd>
        <dt>Created</dt><dd>${A(s.created_at)}</dd>
        <dt>Updated</dt><dd>${A(s.updated_at)}</dd>
        ${s.rerun_of&&_`<dt>Rerun of</dt><dd><a class="mono" href=${j(s.rerun_of)}>${s.rerun_of}</a> from ${s.rerun_from}</dd>`}
        <dt>Metadata</dt><dd>${Object.entries(s.metadata||{}).map(([u,p])=>_`<span class="tag">${u}=${p}</span>`)}</dd>
      </dl>
      ${s.waiting_for&&_`<p class="waiting" data-testid="waiting-for">${qt(s.waiting_for)}</p>`}
      ${t.role==="admin"&&_`<${Qe} run=${s} reload=${a} />`}
    </header>
    <h3>Timeline</h3>
    <${Be} run=${s} now=${d} />
    <h3>Steps</h3>
    ${s.steps.map(u=>_`<${Je} step=${u} />`)}
    <h3>Input</h3>
    <${Pt} value=${s.input} />`}function Ve({id:e}){let[t,r]=g(null);return E(()=>{let n=!1,s=async()=>{try{let o=await v(`/v1/bulk/${e}`);if(n)return;r(o),(o.status==="queued"||o.status==="running")&&setTimeout(s,1e3)}catch{n||setTimeout(s,2e3)}};return s(),()=>{n=!0}},[e]),t?_`<p class="note" data-testid="bulk-job">Bulk ${t.action} ${t.id}: ${t.status};
    ${t.matched} matched, ${t.succeeded} done, ${t.skipped} skipped${t.error?` (${t.error})`:""}</p>`:null}function Se({me:e}){let[t,r]=g(""),[n,s]=g(null),{data:o,error:a,reload:l}=C(()=>v("/v1/dlq?limit=200"),[],{ms:3e3}),d=e.role==="admin",u=o?o.dead_letters:[],p=[...new Set(u.map(c=>c.workflow))].sort(),f=t?`of workflow “${t}”`:"of every workflow",i=t?{workflow:t}:{};return _`
    <${y} error=${a} />
    ${d&&_`<div class="toolbar" data-testid="dlq-bulk">
      <label>Workflow
        <select value=${t} onChange=${c=>r(c.currentTarget.value)}>
          <option value="">all</option>
          ${p.map(c=>_`<option value=${c}>${c}</option>`)}
        </select>
      </label>
      <${R} label="Replay all" testid="replay-all" confirm=${`Replay every failed run ${f}?`}
        run=${async()=>{let c=await L("/v1/runs:bulk",{action:"replay",filter:i});return s(c.id),null}} />
      <${R} label="Purge" danger testid="purge" confirm=${`Delete every dead letter ${f}? This cannot be undone.`}
        run=${async()=>{let c=await L("/v1/dlq/purge",t?i:{confirm:!0});return l(),`${c.purged} purged`}} />
    </div>`}
    ${n&&_`<${Ve} id=${n} />`}
    <${T} testid="dlq-table" head=${["Run","Workflow","Step","Attempts","Error","When",""]}
      empty=${o?"No dead letters.":"Loading…"}
      rows=${u.map(c=>_`<tr data-run=${c.run_id}>
        <td><a class="mono" href=${j(c.run_id)}>${c.run_id}</a></td>
        <td>${c.workflow}</td><td>${c.step}</td><td>${c.attempts}</td>
        <td class="clip" title=${c.error}>${c.error}</td><td title=${c.at}>${N(c.at)}</td>
        <td>${d&&_`<${R} label="Replay" testid="replay"
          run=${async()=>(await L(`/v1/dlq/${c.id}/replay`),l(),"replayed")} />`}</td>
      </tr>`)} />`}function Te({me:e}){let{data:t,error:r,reload:n}=C(()=>v("/v1/queues"),[],{ms:2e3}),s=e.role==="admin",o=a=>async()=>{let l=await L(`/v1/queues/${encodeURIComponent(a.name)}/${a.paused?"resume":"pause"}`);return n(),l.paused?"paused":"resumed"};return _`
    <${y} error=${r} />
    <${T} testid="queues-table" head=${["Queue","State","Waiting","In flight","Entries","Workers","Per minute",""]}
      empty=${t?"No queues.":"Loading…"}
      rows=${(t?t.queues:[]).map(a=>_`<tr data-queue=${a.name}>
        <td>${a.name}</td>
        <td>${a.paused?_`<span class="status status-paused" data-testid="queue-state">paused</span>`:_`<span class="status status-completed" data-testid="queue-state">active</span>`}</td>
        <td>${a.waiting}</td><td>${a.in_flight}</td><td>${a.entries}</td><td>${a.workers}</td>
        <td>${a.throughput_per_minute??"—"}</td>
        <td>${s&&_`<${R} key=${`${a.name}-${a.paused}`} label=${a.paused?"Resume":"Pause"}
          testid=${a.paused?"resume":"pause"} run=${o(a)} />`}</td>
      </tr>`)} />`}function Ce(){let{data:e,error:t}=C(()=>v("/v1/workers"),[],{ms:3e3});return _`
    <${y} error=${t} />
    <${T} testid="workers-table" head=${["Worker","Host","PID","Queues","Busy","Started","Last beat","Version"]}
      empty=${e?"No workers registered.":"Loading…"}
      rows=${(e?e.workers:[]).map(r=>{let n=Date.now()-Date.parse(r.beat_at)>15e3;return _`<tr class=${n?"stale":""}>
          <td class="mono">${r.id}</td><td>${r.host}</td><td>${r.pid}</td><td>${(r.queues||[]).join(", ")}</td>
          <td>${r.in_flight} / ${r.concurrency}</td><td>${N(r.started_at)}</td>
          <td>${N(r.beat_at)}${n?" (gone?)":""}</td><td>${r.version}</td>
        </tr>`})} />`}function ze(e){let t=[];return e.requests_per_minute&&t.push(`${e.requests_per_minute} req/min`),e.tokens_per_minute&&t.push(`${e.tokens_per_minute} tokens/min`),e.concurrency&&t.push(`${e.concurrency} at once`),t.join(", ")||"—"}function Ee(){let{data:e,error:t}=C(()=>v("/v1/limiters"),[],{ms:3e3});return _`
    <${y} error=${t} />
    <${T} testid="limiters-table" head=${["Limiter","Bounds","Tokens left","Holders","Admitted","Waits","This minute","Paused until"]}
      empty=${e?"No limiters configured.":"Loading…"}
      rows=${(e?e.limiters:[]).map(r=>_`<tr>
        <td>${r.name}</td><td>${ze(r.bounds||{})}</td><td>${r.tokens??"—"}</td><td>${r.holders}</td>
        <td>${r.admitted}</td><td>${r.waits}</td>
        <td>${r.recent?`${r.recent.admitted_this_minute} in, ${r.recent.waits_this_minute} waited`:"—"}</td>
        <td>${r.paused_until?A(r.paused_until):"—"}</td>
      </tr>`)} />`}function Ne(){let[e,t]=g(""),{data:r,error:n}=C(()=>v(`/v1/audit${_t({limit:100,before:e})}`),[e],{ms:5e3,live:!e}),s=r?r.entries:[];return _`
    <${y} error=${n} />
    <${T} testid="audit-table" head=${["When","Who","Action","Target","Detail"]}
      empty=${r?"Nothing audited yet.":"Loading…"}
      rows=${s.map(o=>_`<tr>
        <td>${A(o.at)}</td><td>${o.who}</td><td>${o.action}</td><td class="mono">${o.target}</td>
        <td class="clip mono">${o.detail&&Object.keys(o.detail).length?JSON.stringify(o.detail):""}</td>
      </tr>`)} />
    <nav class="pager">
      <button class="button plain" disabled=${!e} onClick=${()=>t("")}>← Newest</button>
      <button class="button plain" disabled=${s.length<100}
        onClick=${()=>t(s[s.length-1].id)}>Older →</button>
    </nav>`}var De=[{path:"",title:"Overview"},{path:"runs",title:"Runs"},{path:"dlq",title:"Dead letters"},{path:"queues",title:"Queues"},{path:"workers",title:"Workers"},{path:"limiters",title:"Limiters"},{path:"audit",title:"Audit",admin:!0}];function Ge({error:e,onToken:t}){return _`
    <form class="login" onSubmit=${n=>{n.preventDefault(),t(new FormData(n.currentTarget).get("token").trim())}} data-testid="login">
      <h1>steadfast</h1>
      <p>This server wants a bearer token (<code>serve --tokens</code>). It is kept in this tab only.</p>
      <label>Token <input name="token" type="password" autocomplete="current-password" required autofocus /></label>
      <button class="button" type="submit">Sign in</button>
      <${y} error=${e} />
    </form>`}function Ke({route:e,me:t}){let[r,n]=e.parts;if(r==="runs"&&n)return _`<${xe} id=${n} me=${t} />`;switch(r||""){case"":return _`<${be} />`;case"runs":return _`<${we} params=${e.params} />`;case"dlq":return _`<${Se} me=${t} />`;case"queues":return _`<${Te} me=${t} />`;case"workers":return _`<${Ce} />`;case"limiters":return _`<${Ee} />`;case"audit":return t.role==="admin"?_`<${Ne} />`:_`<p class="error">The audit log needs an admin token.</p>`;default:return _`<p class="error">No such page: ${e.parts.join("/")}</p>`}}function Ye(){let e=he(),[t,r]=g(null),[n,s]=g(null),[o,a]=g(!1),l=lt(async()=>{try{let p=await v("/v1/me");p.role?(r(p),a(!1),s(null)):(r(null),a(!0),s(Nt()?"The server does not know this token.":null))}catch(p){r(null),s(p.message)}},[]);if(E(()=>(l(),_e(()=>{r(null),a(!0)})),[]),o)return _`<${Ge} error=${n} onToken=${p=>{Dt(p),l()}} />`;if(!t)return _`<${y} error=${n} />${!n&&_`<p class="loading">Loading…</p>`}`;let d=e.parts[0]||"",u=De.find(p=>p.path===d)?.title||"Run";return _`
    <header class="top">
      <a class="brand" href="#/">steadfast</a>
      <nav class="tabs">
        ${De.filter(p=>!p.admin||t.role==="admin").map(p=>_`
          <a href=${`#/${p.path}`} class=${p.path===d?"active":""}>${p.title}</a>`)}
      </nav>
      <span class="who" data-testid="who" data-role=${t.role}>
        ${t.tokens?`${t.name||"token"} (${t.role})`:"no tokens: everyone is admin"}
        ${t.tokens&&_` <button class="button plain" onClick=${()=>{Dt(""),r(null),a(!0)}}>Sign out</button>`}
      </span>
    </header>
    <main>
      <h1 class="page-title">${u}</h1>
      <${Ke} route=${e} me=${t} />
    </main>`}Xt(_`<${Ye} />`,document.getElementById("app"));})();
