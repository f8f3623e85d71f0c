/* steadfast dashboard. Bundles Preact 10 (MIT, (c) 2015-present Jason Miller) and htm 3 (Apache-2.0, (c) 2018 Google Inc.). */
(()=>{var ot,h,jt,Re,M,Ot,Ft,Bt,ht,X,V,Jt,yt,gt,vt,qe,et={},rt=[],Ae=/acit|ex(?:s|g|n|p|$)|rph|grid|ows|mnc|ntw|ine[ch]|zoo|^ord|itera/i,at=Array.isArray;function A(t,e){for(var r in e)t[r]=e[r];return t}function bt(t){t&&t.parentNode&&t.parentNode.removeChild(t)}function kt(t,e,r){var n,a,o,s={};for(o in e)o=="key"?n=e[o]:o=="ref"?a=e[o]:s[o]=e[o];if(arguments.length>2&&(s.children=arguments.length>3?ot.call(arguments,2):r),typeof t=="function"&&t.defaultProps!=null)for(o in t.defaultProps)s[o]===void 0&&(s[o]=t.defaultProps[o]);return Z(t,s,n,a,null)}function Z(t,e,r,n,a){var o={type:t,props:e,key:r,ref:n,__k:null,__:null,__b:0,__e:null,__c:null,constructor:void 0,__v:a??++jt,__i:-1,__u:0};return a==null&&h.vnode!=null&&h.vnode(o),o}function st(t){return t.children}function tt(t,e){this.props=t,this.context=e}function O(t,e){if(e==null)return t.__?O(t.__,t.__i+1):null;for(var r;e<t.__k.length;e++)if((r=t.__k[e])!=null&&r.__e!=null)return r.__e;return typeof t.type=="function"?O(t):null}function Me(t){if(t.__P&&t.__d){var e=t.__v,r=e.__e,n=[],a=[],o=A({},e);o.__v=e.__v+1,h.vnode&&h.vnode(o),wt(t.__P,o,e,t.__n,t.__P.namespaceURI,32&e.__u?[r]:null,n,r??O(e),!!(32&e.__u),a),o.__v=e.__v,o.__.__k[o.__i]=o,Gt(n,o,a),e.__e=e.__=null,o.__e!=r&&Vt(o)}}function Vt(t){if((t=t.__)!=null&&t.__c!=null)return t.__e=t.__c.base=null,t.__k.some(function(e){if(e!=null&&e.__e!=null)return t.__e=t.__c.base=e.__e}),Vt(t)}function Ut(t){(!t.__d&&(t.__d=!0)&&M.push(t)&&!nt.__r++||Ot!=h.debounceRendering)&&((Ot=h.debounceRendering)||Ft)(nt)}function nt(){try{for(var t,e=1;M.length;)M.length>e&&M.sort(Bt),t=M.shift(),e=M.length,Me(t)}finally{M.length=nt.__r=0}}function Qt(t,e,r,n,a,o,s,l,_,u,p){var f,i,c,m,k,x,S=n&&n.__k||rt,$=e.length;for(_=We(r,e,S,_,$),f=0;f<$;f++)(c=r.__k[f])!=null&&(i=c.__i!=-1&&S[c.__i]||et,c.__i=f,x=wt(t,c,i,a,o,s,l,_,u,p),m=c.__e,c.ref&&i.ref!=c.ref&&(i.ref&&xt(i.ref,null,c),p.push(c.ref,c.__c||m,c)),k==null&&m!=null&&(k=m),4&c.__u?(_=zt(c,_,t),i.__e&&(i.__e=null)):typeof c.type=="function"&&x!==void 0?_=x:m&&(_=m.nextSibling),c.__u&=-7);return r.__e=k,_}function We(t,e,r,n,a){var o,s,l,_,u,p=r.length,f=p,i=0;for(t.__k=new Array(a),o=0;o<a;o++)(s=e[o])!=null&&typeof s!="boolean"&&typeof s!="function"?(typeof s=="string"||typeof s=="number"||typeof s=="bigint"||s.constructor==String?s=t.__k[o]=Z(null,s,null,null,null):at(s)?s=t.__k[o]=Z(st,{children:s},null,null,null):s.constructor===void 0&&s.__b>0?s=t.__k[o]=Z(s.type,s.props,s.key,s.ref?s.ref:null,s.__v):t.__k[o]=s,_=o+i,s.__=t,s.__b=t.__b+1,l=null,(u=s.__i=Oe(s,r,_,f))!=-1&&(f--,(l=r[u])&&(l.__u|=2)),l==null||l.__v==null?(u==-1&&(a>p?i--:a<p&&i++),typeof s.type!="function"&&(s.__u|=4)):u!=_&&(u==_-1?i--:u==_+1?i++:(u>_?i--:i++,s.__u|=4))):t.__k[o]=null;if(f)for(o=0;o<p;o++)(l=r[o])!=null&&(2&l.__u)==0&&(l.__e==n&&(n=O(l)),Xt(l,l));return n}function zt(t,e,r){var n,a;if(typeof t.type=="function"){for(n=t.__k,a=0;n&&a<n.length;a++)n[a]&&(n[a].__=t,e=zt(n[a],e,r));return e}t.__e!=e&&(e&&t.type&&!e.parentNode&&(e=O(t)),e=r.insertBefore(t.__e,e||null));do e=e&&e.nextSibling;while(e!=null&&e.nodeType==8);return e}function Oe(t,e,r,n){var a,o,s,l=t.key,_=t.type,u=e[r],p=u!=null&&(2&u.__u)==0;if(u===null&&l==null||p&&l==u.key&&_==u.type)return r;if(n>(p?1:0)){for(a=r-1,o=r+1;a>=0||o<e.length;)if((u=e[s=a>=0?a--:o++])!=null&&(2&u.__u)==0&&l==u.key&&_==u.type)return s}return-1}function Ht(t,e,r){e[0]=="-"?t.setProperty(e,r??""):t[e]=r==null?"":typeof r!="number"||Ae.test(e)?r:r+"px"}function Y(t,e,r,n,a){var o,s;t:if(e=="style")if(typeof r=="string")t.style.cssText=r;else{if(typeof n=="string"&&(t.style.cssText=n=""),n)for(e in n)r&&e in r||Ht(t.style,e,"");if(r)for(e in r)n&&r[e]==n[e]||Ht(t.style,e,r[e])}else if(e[0]=="o"&&e[1]=="n")o=e!=(e=e.replace(Jt,"$1")),s=e.toLowerCase(),e=s in t||e=="onFocusOut"||e=="onFocusIn"?s.slice(2):e.slice(2),t.l||(t.l={}),t.l[e+o]=r,r?n?r[V]=n[V]:(r[V]=yt,t.addEventListener(e,o?vt:gt,o)):t.removeEventListener(e,o?vt:gt,o);else{if(a=="http://www.w3.org/2000/svg")e=e.replace(/xlink(H|:h)/,"h").replace(/sName$/,"s");else if(e!="width"&&e!="height"&&e!="href"&&e!="list"&&e!="form"&&e!="tabIndex"&&e!="download"&&e!="rowSpan"&&e!="colSpan"&&e!="role"&&e!="popover"&&e in t)try{t[e]=r??"";break t}catch{}typeof r=="function"||(r==null||r===!1&&e[4]!="-"?t.removeAttribute(e):t.setAttribute(e,e=="popover"&&r==1?"":r))}}function It(t){return function(e){if(this.l){var r=this.l[e.type+t];if(e[X]==null)e[X]=yt++;else if(e[X]<r[V])return;return r(h.event?h.event(e):e)}}}function wt(t,e,r,n,a,o,s,l,_,u){var p,f,i,c,m,k,x,S,$,P,B,W,J,Wt,G,$t,L=e.type;if(e.constructor!==void 0)return null;128&r.__u&&(_=!!(32&r.__u),o=[l=e.__e=r.__e]),(p=h.__b)&&p(e);t:if(typeof L=="function"){f=s.length;try{if($=e.props,P=L.prototype&&L.prototype.render,B=(p=L.contextType)&&n[p.__c],W=p?B?B.props.value:p.__:n,r.__c?S=(i=e.__c=r.__c).__=i.__E:(P?e.__c=i=new L($,W):(e.__c=i=new tt($,W),i.constructor=L,i.render=He),B&&B.sub(i),i.state||(i.state={}),i.__n=n,c=i.__d=!0,i.__h=[],i._sb=[]),P&&i.__s==null&&(i.__s=i.state),P&&L.getDerivedStateFromProps!=null&&(i.__s==i.state&&(i.__s=A({},i.__s)),A(i.__s,L.getDerivedStateFromProps($,i.__s))),m=i.props,k=i.state,i.__v=e,c)P&&L.getDerivedStateFromProps==null&&i.componentWillMount!=null&&i.componentWillMount(),P&&i.componentDidMount!=null&&i.__h.push(i.componentDidMount);else{if(P&&L.getDerivedStateFromProps==null&&$!==m&&i.componentWillReceiveProps!=null&&i.componentWillReceiveProps($,W),e.__v==r.__v||!i.__e&&i.shouldComponentUpdate!=null&&i.shouldComponentUpdate($,i.__s,W)===!1){e.__v!=r.__v&&(i.props=$,i.state=i.__s,i.__d=!1),e.__e=r.__e,e.__k=r.__k,e.__k.some(function(I){I&&(I.__=e)}),rt.push.apply(i.__h,i._sb),i._sb=[],i.__h.length&&s.push(i),l=O(r);break t}i.componentWillUpdate!=null&&i.componentWillUpdate($,i.__s,W),P&&i.componentDidUpdate!=null&&i.__h.push(function(){i.componentDidUpdate(m,k,x)})}if(i.context=W,i.props=$,i.__P=t,i.__e=!1,J=h.__r,Wt=0,P)i.state=i.__s,i.__d=!1,J&&J(e),p=i.render(i.props,i.state,i.context),rt.push.apply(i.__h,i._sb),i._sb=[];else do i.__d=!1,J&&J(e),p=i.render(i.props,i.state,i.context),i.state=i.__s;while(i.__d&&++Wt<25);i.state=i.__s,i.getChildContext!=null&&(n=A(A({},n),i.getChildContext())),P&&!c&&i.getSnapshotBeforeUpdate!=null&&(x=i.getSnapshotBeforeUpdate(m,k)),G=p!=null&&p.type===st&&p.key==null?Yt(p.props.children):p,l=Qt(t,at(G)?G:[G],e,r,n,a,o,s,l,_,u),i.base=e.__e,e.__u&=-161,i.__h.length&&s.push(i),S&&(i.__E=i.__=null)}catch(I){if(s.length=f,e.__v=null,_||o!=null){if(I.then){for(e.__u|=_?160:128;l&&l.nodeType==8&&l.nextSibling;)l=l.nextSibling;o!=null&&(o[o.indexOf(l)]=null),e.__e=l}else if(o!=null)for($t=o.length;$t--;)bt(o[$t])}else e.__e=r.__e;e.__k==null&&(e.__k=r.__k||[]),I.then||Kt(e),h.__e(I,e,r)}}else o==null&&e.__v==r.__v?(e.__k=r.__k,e.__e=r.__e):l=e.__e=Ue(r.__e,e,r,n,a,o,s,_,u);return(p=h.diffed)&&p(e),128&e.__u?void 0:l}function Kt(t){t&&(t.__c&&(t.__c.__e=!0),t.__k&&t.__k.some(Kt))}function Gt(t,e,r){for(var n=0;n<r.length;n++)xt(r[n],r[++n],r[++n]);h.__c&&h.__c(e,t),t.some(function(a){try{t=a.__h,a.__h=[],t.some(function(o){o.call(a)})}catch(o){h.__e(o,a.__v)}})}function Yt(t){return typeof t!="object"||t==null||t.__b>0?t:at(t)?t.map(Yt):t.constructor!==void 0?null:A({},t)}function Ue(t,e,r,n,a,o,s,l,_){var u,p,f,i,c,m,k,x=r.props||et,S=e.props,$=e.type;if($=="svg"?a="http://www.w3.org/2000/svg":$=="math"?a="http://www.w3.org/1998/Math/MathML":a||(a="http://www.w3.org/1999/xhtml"),o!=null){for(u=0;u<o.length;u++)if((c=o[u])&&"setAttribute"in c==!!$&&($?c.localName==$:c.nodeType==3)){t=c,o[u]=null;break}}if(t==null){if($==null)return document.createTextNode(S);t=document.createElementNS(a,$,S.is&&S),l&&(h.__m&&h.__m(e,o),l=!1),o=null}if($==null)x===S||l&&t.data==S||(t.data=S);else{if(o=$=="textarea"&&S.defaultValue!=null?null:o&&ot.call(t.childNodes),!l&&o!=null)for(x={},u=0;u<t.attributes.length;u++)x[(c=t.attributes[u]).name]=c.value;for(u in x)c=x[u],u=="dangerouslySetInnerHTML"?f=c:u=="children"||u in S||u=="value"&&"defaultValue"in S||u=="checked"&&"defaultChecked"in S||Y(t,u,null,c,a);for(u in S)c=S[u],u=="children"?i=c:u=="dangerouslySetInnerHTML"?p=c:u=="value"?m=c:u=="checked"?k=c:l&&typeof c!="function"||x[u]===c||Y(t,u,c,x[u],a);if(p)l||f&&(p.__html==f.__html||p.__html==t.innerHTML)||(t.innerHTML=p.__html),e.__k=[];else if(f&&(t.innerHTML=""),Qt(e.type=="template"?t.content:t,at(i)?i:[i],e,r,n,$=="foreignObject"?"http://www.w3.org/1999/xhtml":a,o,s,o?o[0]:r.__k&&O(r,0),l,_),o!=null)for(u=o.length;u--;)bt(o[u]);l&&$!="textarea"||(u="value",$=="progress"&&m==null?t.removeAttribute("value"):m!=null&&(m!==t[u]||$=="progress"&&!m||$=="option"&&m!=x[u])&&Y(t,u,m,x[u],a),u="checked",k!=null&&k!=t[u]&&Y(t,u,k,x[u],a))}return t}function xt(t,e,r){try{if(typeof t=="function"){var n=typeof t.__u=="function";n&&t.__u(),n&&e==null||(t.__u=t(e))}else t.current=e}catch(a){h.__e(a,r)}}function Xt(t,e,r){var n,a;if(h.unmount&&h.unmount(t),(n=t.ref)&&(n.current&&n.current!=t.__e||xt(n,null,e)),(n=t.__c)!=null){if(n.componentWillUnmount)try{n.componentWillUnmount()}catch(o){h.__e(o,e)}n.base=n.__P=n.__n=null}if(n=t.__k)for(a=0;a<n.length;a++)n[a]&&Xt(n[a],e,r||typeof t.type!="function");r||bt(t.__e),t.__c=t.__=t.__e=void 0}function He(t,e,r){return this.constructor(t,r)}function Zt(t,e,r){var n,a,o,s;e==document&&(e=document.documentElement),h.__&&h.__(t,e),a=(n=typeof r=="function")?null:r&&r.__k||e.__k,o=[],s=[],wt(e,t=(!n&&r||e).__k=kt(st,null,[t]),a||et,et,e.namespaceURI,!n&&r?[r]:a?null:e.firstChild?ot.call(e.childNodes):null,o,!n&&r?r:a?a.__e:e.firstChild,n,s),Gt(o,t,s),t.props.children=null}ot=rt.slice,h={__e:function(t,e,r,n){for(var a,o,s;e=e.__;)if((a=e.__c)&&!a.__)try{if((o=a.constructor)&&o.getDerivedStateFromError!=null&&(a.setState(o.getDerivedStateFromError(t)),s=a.__d),a.componentDidCatch!=null&&(a.componentDidCatch(t,n||{}),s=a.__d),s)return a.__E=a}catch(l){t=l}throw t}},jt=0,Re=function(t){return t!=null&&t.constructor===void 0},tt.prototype.setState=function(t,e){var r;r=this.__s!=null&&this.__s!=this.state?this.__s:this.__s=A({},this.state),typeof t=="function"&&(t=t(A({},r),this.props)),t&&A(r,t),t!=null&&this.__v&&(e&&this._sb.push(e),Ut(this))},tt.prototype.forceUpdate=function(t){this.__v&&(this.__e=!0,t&&this.__h.push(t),Ut(this))},tt.prototype.render=st,M=[],Ft=typeof Promise=="function"?Promise.prototype.then.bind(Promise.resolve()):setTimeout,Bt=function(t,e){return t.__v.__b-e.__v.__b},nt.__r=0,ht=Math.random().toString(8),X="__d"+ht,V="__a"+ht,Jt=/(PointerCapture)$|Capture$/i,yt=0,gt=It(!1),vt=It(!0),qe=0;var Q,y,St,te,z=0,ue=[],w=h,ee=w.__b,re=w.__r,ne=w.diffed,oe=w.__c,ae=w.unmount,se=w.__;function Ct(t,e){w.__h&&w.__h(y,t,z||e),z=0;var r=y.__H||(y.__H={__:[],__h:[]});return t>=r.__.length&&r.__.push({}),r.__[t]}function g(t){return z=1,Ie(de,t)}function Ie(t,e,r){var n=Ct(Q++,2);if(n.t=t,!n.__c&&(n.__=[r?r(e):de(void 0,e),function(l){var _=n.__N?n.__N[0]:n.__[0],u=n.t(_,l);_!==u&&(n.__N=[u,n.__[1]],n.__c.setState({}))}],n.__c=y,!y.__f)){var a=function(l,_,u){if(!n.__c.__H)return!0;var p=!1,f=n.__c.props!==l;if(n.__c.__H.__.some(function(c){if(c.__N){p=!0;var m=c.__[0];c.__=c.__N,c.__N=void 0,m!==c.__[0]&&(f=!0)}}),o){var i=o.call(this,l,_,u);return p?i||f:i}return!p||f};y.__f=!0;var o=y.shouldComponentUpdate,s=y.componentWillUpdate;y.componentWillUpdate=function(l,_,u){if(this.__e){var p=o;o=void 0,a(l,_,u),o=p}s&&s.call(this,l,_,u)},y.shouldComponentUpdate=a}return n.__N||n.__}function N(t,e){var r=Ct(Q++,3);!w.__s&&ce(r.__H,e)&&(r.__=t,r.u=e,y.__H.__h.push(r))}function ut(t){return z=5,le(function(){return{current:t}},[])}function le(t,e){var r=Ct(Q++,7);return ce(r.__H,e)&&(r.__=t(),r.__H=e,r.__h=t),r.__}function lt(t,e){return z=8,le(function(){return t},e)}function je(){for(var t;t=ue.shift();){var e=t.__H;if(t.__P&&e)try{e.__h.some(it),e.__h.some(Tt),e.__h=[]}catch(r){e.__h=[],w.__e(r,t.__v)}}}w.__b=function(t){y=null,ee&&ee(t)},w.__=function(t,e){t&&e.__k&&e.__k.__m&&(t.__m=e.__k.__m),se&&se(t,e)},w.__r=function(t){re&&re(t),Q=0;var e=(y=t.__c).__H;e&&(St===y?(e.__h=[],y.__h=[],e.__.some(function(r){r.__N&&(r.__=r.__N),r.u=r.__N=void 0})):(e.__h.some(it),e.__h.some(Tt),e.__h=[],Q=0)),St=y},w.diffed=function(t){ne&&ne(t);var e=t.__c;e&&e.__H&&(e.__H.__h.length&&(ue.push(e)!==1&&te===w.requestAnimationFrame||((te=w.requestAnimationFrame)||Fe)(je)),e.__H.__.some(function(r){r.u&&(r.__H=r.u,r.u=void 0)})),St=y=null},w.__c=function(t,e){e.some(function(r){try{r.__h.some(it),r.__h=r.__h.filter(function(n){return!n.__||Tt(n)})}catch(n){e.some(function(a){a.__h&&(a.__h=[])}),e=[],w.__e(n,r.__v)}}),oe&&oe(t,e)},w.unmount=function(t){ae&&ae(t);var e,r=t.__c;r&&r.__H&&(r.__H.__.some(function(n){try{it(n)}catch(a){e=a}}),r.__H=void 0,e&&w.__e(e,r.__v))};var ie=typeof requestAnimationFrame=="function";function Fe(t){var e,r=function(){clearTimeout(n),ie&&cancelAnimationFrame(e),setTimeout(t)},n=setTimeout(r,35);ie&&(e=requestAnimationFrame(r))}function it(t){var e=y,r=t.__c;typeof r=="function"&&(t.__c=void 0,r()),y=e}function Tt(t){var e=y;t.__c=t.__(),y=e}function ce(t,e){return!t||t.length!==e.length||e.some(function(r,n){return r!==t[n]})}function de(t,e){return typeof e=="function"?e(t):e}var Nt="steadfast.token",ct=class extends Error{constructor(e,r,n){super(r),this.status=e,this.problem=n}};function Dt(){return sessionStorage.getItem(Nt)||""}function Pt(t){t?sessionStorage.setItem(Nt,t):sessionStorage.removeItem(Nt)}var Et=new Set;function _e(t){return Et.add(t),()=>Et.delete(t)}async function pe(t,e,r){let n={Accept:"application/json"},a=Dt();a&&(n.Authorization=`Bearer ${a}`);let o={method:t,headers:n,cache:"no-store"};r!==void 0&&(n["Content-Type"]="application/json",o.body=JSON.stringify(r));let s;try{s=await fetch(e,o)}catch(u){throw new ct(0,`the server did not answer (${u.message})`,null)}let l=await s.text(),_=null;try{_=l?JSON.parse(l):null}catch{_=null}if(!s.ok){s.status===401&&Et.forEach(p=>p());let u=_&&_.detail||`${s.status} ${s.statusText}`;throw new ct(s.status,u,_)}return _}var v=t=>pe("GET",t),R=(t,e)=>pe("POST",t,e===void 0?{}:e);function dt(t){let e=new URLSearchParams;for(let[n,a]of Object.entries(t))a!=null&&a!==""&&e.set(n,a);let r=e.toString();return r?`?${r}`:""}var me=function(t,e,r,n){var a;e[0]=0;for(var o=1;o<e.length;o++){var s=e[o++],l=e[o]?(e[0]|=s?1:2,r[e[o++]]):e[++o];s===3?n[0]=l:s===4?n[1]=Object.assign(n[1]||{},l):s===5?(n[1]=n[1]||{})[e[++o]]=l:s===6?n[1][e[++o]]+=l+"":s?(a=t.apply(l,me(t,l,r,["",null])),n.push(a),l[0]?e[0]|=2:(e[o-2]=0,e[o]=a)):n.push(l)}return n},fe=new Map;function $e(t){var e=fe.get(this);return e||(e=new Map,fe.set(this,e)),(e=me(this,e.get(t)||(e.set(t,e=(function(r){for(var n,a,o=1,s="",l="",_=[0],u=function(i){o===1&&(i||(s=s.replace(/^\s*\n\s*|\s*\n\s*$/g,"")))?_.push(0,i,s):o===3&&(i||s)?(_.push(3,i,s),o=2):o===2&&s==="..."&&i?_.push(4,i,0):o===2&&s&&!i?_.push(5,0,!0,s):o>=5&&((s||!i&&o===5)&&(_.push(o,0,s,a),o=6),i&&(_.push(o,i,0,a),o=6)),s=""},p=0;p<r.length;p++){p&&(o===1&&u(),u(p));for(var f=0;f<r[p].length;f++)n=r[p][f],o===1?n==="<"?(u(),_=[_],o=3):s+=n:o===4?s==="--"&&n===">"?(o=1,s=""):s=n+s[0]:l?n===l?l="":s+=n:n==='"'||n==="'"?l=n:n===">"?(u(),o=1):o&&(n==="="?(o=5,a=s,s=""):n==="/"&&(o<5||r[p][f+1]===">")?(u(),o===3&&(_=_[0]),o=_,(_=_[0]).push(2,0,o),o=0):n===" "||n==="	"||n===`
`||n==="\r"?(u(),o=2):s+=n),o===3&&s==="!--"&&(o=4,_=_[0])}return u(),_})(t)),e),arguments,[])).length>1?e:e[0]}var d=$e.bind(kt);function he(t){let e=t.replace(/^#/,"")||"/",r=e.indexOf("?"),n=r<0?e:e.slice(0,r),a=new URLSearchParams(r<0?"":e.slice(r+1));return{parts:n.split("/").filter(Boolean).map(decodeURIComponent),params:a}}function ge(){let[t,e]=g(()=>he(location.hash));return N(()=>{let r=()=>e(he(location.hash));return addEventListener("hashchange",r),()=>removeEventListener("hashchange",r)},[]),t}function _t(t,e,r=!1){let n=e?new URLSearchParams(e).toString():"",a=`#${t}${n?`?${n}`:""}`;r?history.replaceState(null,"",a):location.hash=a,r&&dispatchEvent(new HashChangeEvent("hashchange"))}var j=t=>`#/runs/${encodeURIComponent(t)}`;var ve=["scheduled","queued","running","retrying","waiting","completed","failed","cancelled"];function U({status:t}){return d`<span class=${`status status-${t}`} data-status=${t}>${t}</span>`}function b({error:t}){return t?d`<p class="error" role="alert">${t}</p>`:null}function Lt({value:t}){return t==null?d`<span class="muted">none</span>`:d`<pre class="json">${JSON.stringify(t,null,2)}</pre>`}function T({head:t,rows:e,empty:r="Nothing here.",testid:n}){return d`
    <div class="table-wrap">
      <table data-testid=${n}>
        <thead><tr>${t.map(a=>d`<th>${a}</th>`)}</tr></thead>
        <tbody>
          ${e.length?e:d`<tr><td colspan=${t.length} class="muted">${r}</td></tr>`}
        </tbody>
      </table>
    </div>`}function q({label:t,confirm:e,run:r,danger:n=!1,testid:a}){let[o,s]=g(!1),[l,_]=g(!1),[u,p]=g(null),f=async()=>{s(!1),_(!0),p(null);try{let c=await r();p(c?{ok:!0,text:c}:null)}catch(c){p({ok:!1,text:c.message})}finally{_(!1)}},i=n?"button danger":"button";return d`
    <span class="action">
      ${o?d`<span class="confirm" role="group">
            <span>${e}</span>
            <button class=${i} data-testid=${a&&`${a}-confirm`} onClick=${f}>Yes, ${t.toLowerCase()}</button>
            <button class="button plain" data-testid=${a&&`${a}-dismiss`} onClick=${()=>s(!1)}>No</button>
          </span>`:d`<button class=${i} disabled=${l} data-testid=${a}
            onClick=${()=>e?s(!0):f()}>${l?`${t}…`:t}</button>`}
      ${u&&d`<span class=${u.ok?"note ok":"note error"} role=${u.ok?"status":"alert"}>${u.text}</span>`}
    </span>`}var pt=600,H=150,F=4;function Be(t,e){let r="",n=!1,a=t.length>1?(pt-2*F)/(t.length-1):0;return t.forEach((o,s)=>{if(o==null){n=!1;return}let l=F+s*a,_=H-F-(e>0?o/e*(H-2*F):0);r+=`${n?"L":"M"}${l.toFixed(1)} ${_.toFixed(1)}`,n=!0}),r}function Rt({title:t,minutes:e,series:r,testid:n,summary:a="total"}){let o=Math.max(1,...r.flatMap(i=>i.values.filter(c=>c!=null))),s=e[0]?new Date(e[0]):null,l=e.length?new Date(e[e.length-1]):null,_=i=>i?i.toLocaleTimeString(void 0,{hour:"2-digit",minute:"2-digit",hour12:!1}):"",f=a==="last"?i=>[...i.values].reverse().find(c=>c!=null)??"—":i=>i.values.reduce((c,m)=>c+(m||0),0);return d`
    <figure class="chart" data-testid=${n}>
      <figcaption>${t}</figcaption>
      <div class="chart-body">
        <span class="chart-max">${o}</span>
        <svg viewBox=${`0 0 ${pt} ${H}`} preserveAspectRatio="none" role="img" aria-label=${t}>
          <line class="grid" x1="0" x2=${pt} y1=${H/2} y2=${H/2} />
          <line class="axis" x1="0" x2=${pt} y1=${H-F} y2=${H-F} />
          ${r.map(i=>d`<path class=${`line ${i.tone}`} d=${Be(i.values,o)} />`)}
        </svg>
      </div>
      <div class="chart-foot"><span>${_(s)}</span><span>${_(l)}</span></div>
      <ul class="legend">
        ${r.map(i=>d`<li><i class=${`swatch ${i.tone}`}></i>${i.name} <b>${f(i)}</b></li>`)}
      </ul>
    </figure>`}function C(t,e,{ms:r=2e3,live:n=!0}={}){let[a,o]=g({data:null,error:null,loading:!0}),s=ut(0),l=lt(async()=>{let _=++s.current;try{let u=await t();_===s.current&&o({data:u,error:null,loading:!1})}catch(u){_===s.current&&o(p=>({data:p.data,error:u.message,loading:!1}))}},e);return N(()=>{if(o(u=>({...u,loading:!0})),l(),!n)return()=>s.current++;let _=setInterval(()=>{document.visibilityState==="visible"&&l()},r);return()=>{clearInterval(_),s.current++}},[l,n,r]),{...a,reload:l}}function E(t,e=Date.now()){if(!t)return"—";let r=Math.round((e-Date.parse(t))/1e3);return r<0?ye(t,e):r<5?"just now":`${ft(r*1e3)} ago`}function ye(t,e=Date.now()){if(!t)return"—";let r=Math.round((Date.parse(t)-e)/1e3);if(r<=0)return"now";if(r<60)return`in ${r} s`;let n=Math.round(r/60);if(n<60)return`in ${n} min`;let a=Math.floor(n/60);return a<48?`in ${a} h${n%60?` ${n%60} min`:""}`:`in ${Math.floor(a/24)} d${a%24?` ${a%24} h`:""}`}function K(t,e=Date.now()){return t?Date.parse(t)>e?`starts at ${D(t)} (${ye(t,e)})`:`started at ${D(t)} (${E(t,e)})`:"—"}function ft(t){if(t==null||Number.isNaN(t))return"—";if(t<1e3)return`${Math.round(t)} ms`;let e=t/1e3;if(e<60)return`${e<10?e.toFixed(1):Math.round(e)} s`;let r=Math.floor(e/60);if(r<60)return`${r} min ${Math.round(e%60)} s`;let n=Math.floor(r/60);return n<48?`${n} h ${r%60} min`:`${Math.floor(n/24)} d ${n%24} h`}function D(t){return t?new Date(t).toLocaleString(void 0,{hour12:!1}):"—"}var qt=(t,e)=>t&&e?Date.parse(e)-Date.parse(t):null;function At(t,e=Date.now()){if(!t)return null;let r=t.until?` (until ${D(t.until)}, ${E(t.until,e)})`:"";switch(t.kind){case"retry":return`waiting to retry${r}`;case"sleep":return`sleeping${r}`;case"signal":return`waiting for the signal “${t.signal}”${r}`;case"child":return`waiting for the child run ${t.run_id} to finish`;case"limiter":return`held by the limiter “${t.limiter}”${t.key?` (key ${t.key})`:""}${r}`;case"fairness":return`queued behind other keys of queue “${t.queue}” (fairness, key ${t.key})`;case"max_parallel":return"waiting: the step’s max_parallel is reached";case"queue_paused":return`waiting: queue “${t.queue}” is paused`;case"no_worker":return`waiting: no live worker reads queue “${t.queue}”`;case"scheduled":return`scheduled: ${K(t.until,e)}`;case"needs":return"waiting for the steps it needs";default:return`waiting (${t.kind})${r}`}}function mt(t,e){let r=new Array(e).fill(null);for(let n of Object.values(t||{}))n.forEach((a,o)=>{a!=null&&(r[o]=(r[o]||0)+a)});return r}var be=["c1","c2","c3","c4","c5","c6"];function ke(){let{data:t,error:e}=C(async()=>{let[u,p,f,i]=await Promise.all([v("/v1/stats/series"),v("/v1/queues"),v("/v1/dlq?limit=1000"),v("/v1/workers")]);return{series:u,queues:p.queues,dead:f.dead_letters,workers:i.workers}},[],{ms:5e3});if(!t)return d`<${b} error=${e} />${!e&&d`<p class="muted">Loading…</p>`}`;let{series:r,queues:n,dead:a,workers:o}=t,s=r.minutes.length,l=r.counts||{},_=o.filter(u=>Date.now()-Date.parse(u.beat_at)<15e3).length;return d`
    <${b} error=${e} />
    <section class="cards">
      <a class="card" href="#/dlq" data-testid="card-dlq"><b>${a.length}${a.length>=1e3?"+":""}</b> dead letters</a>
      <a class="card" href="#/workers"><b>${_}</b> live workers</a>
      <a class="card" href="#/queues"><b>${n.reduce((u,p)=>u+p.waiting,0)}</b> steps waiting</a>
      <a class="card" href="#/queues"><b>${n.filter(u=>u.paused).length}</b> paused queues</a>
    </section>
    <section class="charts">
      <${Rt} testid="chart-throughput" title="Runs per minute (last hour)" minutes=${r.minutes}
        series=${[{name:"submitted",values:mt(l.submitted,s),tone:"c2"},{name:"completed",values:mt(l.completed,s),tone:"ok"},{name:"retried steps",values:mt(l.retried,s),tone:"warn"},{name:"failed",values:mt(l.failed,s),tone:"bad"}]} />
      <${Rt} testid="chart-depth" title="Queue depth (entries at each minute)" minutes=${r.minutes}
        summary="last"
        series=${Object.entries(r.queue_depth||{}).map(([u,p],f)=>({name:u,values:p,tone:be[f%be.length]}))} />
    </section>
    <h2>Queues</h2>
    <${T} head=${["Queue","Waiting","In flight","Workers","Per minute",""]}
      rows=${n.map(u=>d`<tr>
        <td>${u.name}</td><td>${u.waiting}</td><td>${u.in_flight}</td><td>${u.workers}</td>
        <td>${u.throughput_per_minute??"—"}</td><td>${u.paused?d`<span class="status status-paused">paused</span>`:""}</td>
      </tr>`)} />
    <h2>Newest dead letters</h2>
    <${T} head=${["Run","Workflow","Step","Error","When"]} empty="No dead letters."
      rows=${a.slice(0,5).map(u=>d`<tr>
        <td><a href=${`#/runs/${u.run_id}`} class="mono">${u.run_id}</a></td><td>${u.workflow}</td>
        <td>${u.step}</td><td class="clip">${u.error}</td><td>${E(u.at)}</td>
      </tr>`)} />`}var we=["workflow","status","meta","created_after","created_before"];function Je(t){let e={};for(let r of(t||"").split(/[\s,]+/).filter(Boolean)){let n=r.indexOf("=");n>0&&(e[`meta.${r.slice(0,n)}`]=r.slice(n+1))}return e}var xe=t=>t?new Date(t).toISOString():"";function Se({params:t}){let e=Object.fromEntries(we.map(c=>[c,t.get(c)||""])),r=t.get("cursor")||"",[n,a]=g(!0),[o,s]=g([]),l=ut([]);N(()=>{v("/v1/workflows").then(c=>s(c.workflows.map(m=>m.name)),()=>{})},[]);let _=JSON.stringify([e,r]),{data:u,error:p}=C(()=>v(`/v1/runs${dt({workflow:e.workflow,status:e.status,created_after:xe(e.created_after),created_before:xe(e.created_before),limit:50,cursor:r,...Je(e.meta)})}`),[_],{live:n&&!r}),f=(c,m=!1)=>{m||(l.current=[]);let k={...e,cursor:r,...c};m||(k.cursor=""),_t("/runs",Object.fromEntries(Object.entries(k).filter(([,x])=>x)),!0)};return d`
    <form class="filters" onSubmit=${c=>{c.preventDefault();let m=new FormData(c.currentTarget);f(Object.fromEntries(we.map(k=>[k,String(m.get(k)||"").trim()])))}} data-testid="run-filters" key=${JSON.stringify(e)}>
      <label>Workflow
        <select name="workflow" value=${e.workflow} onChange=${c=>f({workflow:c.currentTarget.value})}>
          <option value="">any</option>
          ${o.map(c=>d`<option value=${c}>${c}</option>`)}
        </select>
      </label>
      <label>Status
        <select name="status" value=${e.status} data-testid="filter-status"
          onChange=${c=>f({status:c.currentTarget.value})}>
          <option value="">any</option>
          ${ve.map(c=>d`<option value=${c}>${c}</option>`)}
        </select>
      </label>
      <label class="grow">Metadata
        <input name="meta" defaultValue=${e.meta} placeholder="customer=acme region=eu" data-testid="filter-meta" />
      </label>
      <label>Created after
        <input name="created_after" type="datetime-local" defaultValue=${e.created_after} />
      </label>
      <label>Created before
        <input name="created_before" type="datetime-local" defaultValue=${e.created_before} />
      </label>
      <button class="button" type="submit" data-testid="filter-apply">Filter</button>
      <label class="check"><input type="checkbox" checked=${n} onChange=${c=>a(c.currentTarget.checked)} /> live</label>
    </form>
    <${b} error=${p} />
    <${T} testid="runs-table" head=${["Run","Workflow","Status","Metadata","Created","Updated"]}
      empty=${u?"No run matches.":"Loading…"}
      rows=${(u?u.runs:[]).map(c=>d`<tr data-run=${c.id}>
        <td><a class="mono" href=${j(c.id)}>${c.id}</a></td>
        <td>${c.workflow}</td>
        <td><${U} status=${c.status} />${c.status==="scheduled"&&c.run_at&&d`
          <span class="muted starts" data-testid="run-at" title=${c.run_at}>${K(c.run_at)}</span>`}</td>
        <td class="meta">${Object.entries(c.metadata||{}).map(([m,k])=>d`<span class="tag">${m}=${k}</span>`)}</td>
        <td title=${c.created_at}>${E(c.created_at)}</td>
        <td title=${c.updated_at}>${E(c.updated_at)}</td>
      </tr>`)} />
    <nav class="pager">
      <button class="button plain" disabled=${!r}
        onClick=${()=>f({cursor:l.current.pop()||""},!0)}>← Newer</button>
      <button class="button plain" disabled=${!u||!u.next_cursor} data-testid="next-page"
        onClick=${()=>{l.current.push(r),f({cursor:u.next_cursor},!0)}}>Older →</button>
      ${r&&d`<span class="muted">live refresh pauses on older pages</span>`}
    </nav>`}var Mt=new Set(["completed","failed","cancelled"]);function Ve({run:t,now:e}){let r=Date.parse(t.created_at),n=t.steps.map(l=>l.finished_at?Date.parse(l.finished_at):l.started_at?e:r),o=Math.max(r+1,...n,Mt.has(t.status)?Date.parse(t.updated_at):e)-r,s=l=>`${((l-r)/o*100).toFixed(2)}%`;return d`
    <ol class="timeline" data-testid="timeline">
      ${t.steps.map(l=>{let _=l.started_at?Date.parse(l.started_at):null,u=l.finished_at?Date.parse(l.finished_at):e;return d`<li class="step" data-step=${l.name} data-status=${l.status}>
          <div class="step-head">
            <b>${l.name}</b> <${U} status=${l.status} />
            <span class="muted">${l.attempts} attempt${l.attempts===1?"":"s"}</span>
            ${l.started_at&&d`<span class="muted">${ft(qt(l.started_at,l.finished_at||new Date(e).toISOString()))}</span>`}
          </div>
          <div class="track">
            ${_!==null&&d`<span class=${`bar status-${l.status}`}
              style=${{left:s(_),width:`max(2px, ${s(r+Math.max(0,u-_))})`}}></span>`}
          </div>
          ${l.waiting_for&&d`<p class="waiting">${At(l.waiting_for,e)}</p>`}
          ${l.message&&d`<p class="muted">${l.message}${l.progress!==null?` (${Math.round(l.progress*100)}%)`:""}</p>`}
        </li>`})}
    </ol>`}function Qe({step:t}){return d`
    <details class="step-details" data-step=${t.name} open=${t.status==="failed"}>
      <summary><b>${t.name}</b> <${U} status=${t.status} /> ${t.worker&&d`<span class="muted">on ${t.worker}</span>`}</summary>
      ${t.error&&d`<p class="error">${t.error}</p>`}
      <h4>Attempts</h4>
      <${T} head=${["#","Outcome","Worker","Started","Took","Error"]} empty="No finished attempt yet."
        rows=${(t.attempt_history||[]).map(e=>d`<tr>
          <td>${e.attempt}</td><td><${U} status=${e.outcome} /></td><td class="mono">${e.worker}</td>
          <td>${D(e.started_at)}</td><td>${ft(qt(e.started_at,e.finished_at))}</td>
          <td class="clip">${e.error||""}</td></tr>`)} />
      <h4>Output</h4>
      <${Lt} value=${t.output} />
    </details>`}function ze({run:t,reload:e}){let[r,n]=g(t.steps.find(o=>o.status!=="completed")?.name||t.steps[0]?.name),a=Mt.has(t.status);return d`
    <div class="actions" data-testid="run-actions">
      ${!a&&d`<${q} label="Cancel" danger testid="cancel" confirm="Cancel this run?"
        run=${async()=>{let o=await R(`/v1/runs/${t.id}/cancel`);return e(),`run ${o.result}`}} />`}
      ${t.status==="failed"&&d`<${q} label="Replay" testid="replay"
        run=${async()=>(await R(`/v1/dlq/${t.id}/replay`),e(),"replayed: the failed step runs again")} />`}
      <span class="rerun">
        <label>Rerun from
          <select value=${r} onChange=${o=>n(o.currentTarget.value)} data-testid="rerun-step">
            ${t.steps.map(o=>d`<option value=${o.name}>${o.name}</option>`)}
          </select>
        </label>
        <${q} label="Rerun" testid="rerun" confirm=${`Start a new run from step “${r}”?`}
          run=${async()=>{let o=await R(`/v1/runs/${t.id}/rerun`,{from_step:r});_t(`/runs/${o.run_id}`)}} />
      </span>
    </div>`}function Te({id:t,me:e}){let[r,n]=g(!1),{data:a,error:o,reload:s}=C(()=>v(`/v1/runs/${encodeURIComponent(t)}`),[t],{ms:1500,live:!r}),l=a&&a.id===t?a.status:null;if(N(()=>n(Mt.has(l)),[l]),N(()=>(document.title=a&&a.id===t?`Run ${a.id} (${a.workflow}, ${a.status}) · steadfast`:"steadfast",()=>{document.title="steadfast"}),[t,a&&a.id,a&&a.status]),!a)return d`<h1 class="page-title run-title">Run <span class="mono">${t}</span></h1>
      <${b} error=${o} />${!o&&d`<p class="muted">Loading…</p>`}`;let _=Date.now();return d`
    <header class="run-head">
      <h1 class="page-title run-title" data-testid="run-title">
        Run <span class="mono" data-testid="run-id">${a.id}</span>${" "}<span class="workflow">${a.workflow}</span>${" "}<${U} status=${a.status} />
      </h1>
      <${b} error=${o} />
      <dl class="facts">
        <dt>Workflow</dt><dd>${a.workflow}</dd>
        <dt>Created</dt><dd>${D(a.created_at)}</dd>
        ${a.run_at&&d`<dt>Scheduled</dt><dd data-testid="run-at" title=${a.run_at}>${K(a.run_at,_)}</dd>`}
        <dt>Updated</dt><dd>${D(a.updated_at)}</dd>
        ${a.rerun_of&&d`<dt>Rerun of</dt><dd><a class="mono" href=${j(a.rerun_of)}>${a.rerun_of}</a> from ${a.rerun_from}</dd>`}
        <dt>Metadata</dt><dd>${Object.entries(a.metadata||{}).map(([u,p])=>d`<span class="tag">${u}=${p}</span>`)}</dd>
      </dl>
      ${a.waiting_for&&d`<p class="waiting" data-testid="waiting-for">${At(a.waiting_for,_)}</p>`}
      ${e.role==="admin"&&d`<${ze} run=${a} reload=${s} />`}
    </header>
    <h3>Timeline</h3>
    <${Ve} run=${a} now=${_} />
    <h3>Steps</h3>
    ${a.steps.map(u=>d`<${Qe} step=${u} />`)}
    <h3>Input</h3>
    <${Lt} value=${a.input} />`}function Ke({id:t}){let[e,r]=g(null);return N(()=>{let n=!1,a=async()=>{try{let o=await v(`/v1/bulk/${t}`);if(n)return;r(o),(o.status==="queued"||o.status==="running")&&setTimeout(a,1e3)}catch{n||setTimeout(a,2e3)}};return a(),()=>{n=!0}},[t]),e?d`<p class="note" data-testid="bulk-job">Bulk ${e.action} ${e.id}: ${e.status};
    ${e.matched} matched, ${e.succeeded} done, ${e.skipped} skipped${e.error?` (${e.error})`:""}</p>`:null}function Ce({me:t}){let[e,r]=g(""),[n,a]=g(null),{data:o,error:s,reload:l}=C(()=>v("/v1/dlq?limit=200"),[],{ms:3e3}),_=t.role==="admin",u=o?o.dead_letters:[],p=[...new Set(u.map(c=>c.workflow))].sort(),f=e?`of workflow “${e}”`:"of every workflow",i=e?{workflow:e}:{};return d`
    <${b} error=${s} />
    ${_&&d`<div class="toolbar" data-testid="dlq-bulk">
      <label>Workflow
        <select value=${e} onChange=${c=>r(c.currentTarget.value)}>
          <option value="">all</option>
          ${p.map(c=>d`<option value=${c}>${c}</option>`)}
        </select>
      </label>
      <${q} label="Replay all" testid="replay-all" confirm=${`Replay every failed run ${f}?`}
        run=${async()=>{let c=await R("/v1/runs:bulk",{action:"replay",filter:i});return a(c.id),null}} />
      <${q} label="Purge" danger testid="purge" confirm=${`Delete every dead letter ${f}? This cannot be undone.`}
        run=${async()=>{let c=await R("/v1/dlq/purge",e?i:{confirm:!0});return l(),`${c.purged} purged`}} />
    </div>`}
    ${n&&d`<${Ke} id=${n} />`}
    <${T} testid="dlq-table" head=${["Run","Workflow","Step","Attempts","Error","When",""]}
      empty=${o?"No dead letters.":"Loading…"}
      rows=${u.map(c=>d`<tr data-run=${c.run_id}>
        <td><a class="mono" href=${j(c.run_id)}>${c.run_id}</a></td>
        <td>${c.workflow}</td><td>${c.step}</td><td>${c.attempts}</td>
        <td class="clip" title=${c.error}>${c.error}</td><td title=${c.at}>${E(c.at)}</td>
        <td>${_&&d`<${q} label="Replay" testid="replay"
          run=${async()=>(await R(`/v1/dlq/${c.id}/replay`),l(),"replayed")} />`}</td>
      </tr>`)} />`}function Ne({me:t}){let{data:e,error:r,reload:n}=C(()=>v("/v1/queues"),[],{ms:2e3}),a=t.role==="admin",o=s=>async()=>{let l=await R(`/v1/queues/${encodeURIComponent(s.name)}/${s.paused?"resume":"pause"}`);return n(),l.paused?"paused":"resumed"};return d`
    <${b} error=${r} />
    <${T} testid="queues-table" head=${["Queue","State","Waiting","In flight","Entries","Workers","Per minute",""]}
      empty=${e?"No queues.":"Loading…"}
      rows=${(e?e.queues:[]).map(s=>d`<tr data-queue=${s.name}>
        <td>${s.name}</td>
        <td>${s.paused?d`<span class="status status-paused" data-testid="queue-state">paused</span>`:d`<span class="status status-completed" data-testid="queue-state">active</span>`}</td>
        <td>${s.waiting}</td><td>${s.in_flight}</td><td>${s.entries}</td><td>${s.workers}</td>
        <td>${s.throughput_per_minute??"—"}</td>
        <td>${a&&d`<${q} key=${`${s.name}-${s.paused}`} label=${s.paused?"Resume":"Pause"}
          testid=${s.paused?"resume":"pause"} run=${o(s)} />`}</td>
      </tr>`)} />`}function Ee(){let{data:t,error:e}=C(()=>v("/v1/workers"),[],{ms:3e3});return d`
    <${b} error=${e} />
    <${T} testid="workers-table" head=${["Worker","Host","PID","Queues","Busy","Started","Last beat","Version"]}
      empty=${t?"No workers registered.":"Loading…"}
      rows=${(t?t.workers:[]).map(r=>{let n=Date.now()-Date.parse(r.beat_at)>15e3;return d`<tr class=${n?"stale":""}>
          <td class="mono">${r.id}</td><td>${r.host}</td><td>${r.pid}</td><td>${(r.queues||[]).join(", ")}</td>
          <td>${r.in_flight} / ${r.concurrency}</td><td>${E(r.started_at)}</td>
          <td>${E(r.beat_at)}${n?" (gone?)":""}</td><td>${r.version}</td>
        </tr>`})} />`}function Ge(t){let e=[];return t.requests_per_minute&&e.push(`${t.requests_per_minute} req/min`),t.tokens_per_minute&&e.push(`${t.tokens_per_minute} tokens/min`),t.concurrency&&e.push(`${t.concurrency} at once`),e.join(", ")||"—"}function De(){let{data:t,error:e}=C(()=>v("/v1/limiters"),[],{ms:3e3});return d`
    <${b} error=${e} />
    <${T} testid="limiters-table" head=${["Limiter","Bounds","Tokens left","Holders","Admitted","Waits","This minute","Paused until"]}
      empty=${t?"No limiters configured.":"Loading…"}
      rows=${(t?t.limiters:[]).map(r=>d`<tr>
        <td>${r.name}</td><td>${Ge(r.bounds||{})}</td><td>${r.tokens??"—"}</td><td>${r.holders}</td>
        <td>${r.admitted}</td><td>${r.waits}</td>
        <td>${r.recent?`${r.recent.admitted_this_minute} in, ${r.recent.waits_this_minute} waited`:"—"}</td>
        <td>${r.paused_until?D(r.paused_until):"—"}</td>
      </tr>`)} />`}function Pe(){let[t,e]=g(""),{data:r,error:n}=C(()=>v(`/v1/audit${dt({limit:100,before:t})}`),[t],{ms:5e3,live:!t}),a=r?r.entries:[];return d`
    <${b} error=${n} />
    <${T} testid="audit-table" head=${["When","Who","Action","Target","Detail"]}
      empty=${r?"Nothing audited yet.":"Loading…"}
      rows=${a.map(o=>d`<tr>
        <td>${D(o.at)}</td><td>${o.who}</td><td>${o.action}</td><td class="mono">${o.target}</td>
        <td class="clip mono">${o.detail&&Object.keys(o.detail).length?JSON.stringify(o.detail):""}</td>
      </tr>`)} />
    <nav class="pager">
      <button class="button plain" disabled=${!t} onClick=${()=>e("")}>← Newest</button>
      <button class="button plain" disabled=${a.length<100}
        onClick=${()=>e(a[a.length-1].id)}>Older →</button>
    </nav>`}var Le=[{path:"",title:"Overview"},{path:"runs",title:"Runs"},{path:"dlq",title:"Dead letters"},{path:"queues",title:"Queues"},{path:"workers",title:"Workers"},{path:"limiters",title:"Limiters"},{path:"audit",title:"Audit",admin:!0}];function Ye({error:t,onToken:e}){return d`
    <form class="login" onSubmit=${n=>{n.preventDefault(),e(new FormData(n.currentTarget).get("token").trim())}} data-testid="login">
      <h1>steadfast</h1>
      <p>This server wants a bearer token (<code>serve --tokens</code>). It is kept in this tab only.</p>
      <label>Token <input name="token" type="password" autocomplete="current-password" required autofocus /></label>
      <button class="button" type="submit">Sign in</button>
      <${b} error=${t} />
    </form>`}function Xe({route:t,me:e}){let[r,n]=t.parts;if(r==="runs"&&n)return d`<${Te} id=${n} me=${e} />`;switch(r||""){case"":return d`<${ke} />`;case"runs":return d`<${Se} params=${t.params} />`;case"dlq":return d`<${Ce} me=${e} />`;case"queues":return d`<${Ne} me=${e} />`;case"workers":return d`<${Ee} />`;case"limiters":return d`<${De} />`;case"audit":return e.role==="admin"?d`<${Pe} />`:d`<p class="error">The audit log needs an admin token.</p>`;default:return d`<p class="error">No such page: ${t.parts.join("/")}</p>`}}function Ze(){let t=ge(),[e,r]=g(null),[n,a]=g(null),[o,s]=g(!1),l=lt(async()=>{try{let f=await v("/v1/me");f.role?(r(f),s(!1),a(null)):(r(null),s(!0),a(Dt()?"The server does not know this token.":null))}catch(f){r(null),a(f.message)}},[]);if(N(()=>(l(),_e(()=>{r(null),s(!0)})),[]),o)return d`<${Ye} error=${n} onToken=${f=>{Pt(f),l()}} />`;if(!e)return d`<${b} error=${n} />${!n&&d`<p class="loading">Loading…</p>`}`;let _=t.parts[0]||"",u=_==="runs"&&t.parts.length>1,p=Le.find(f=>f.path===_)?.title||"Not found";return d`
    <header class="top">
      <a class="brand" href="#/">steadfast</a>
      <nav class="tabs">
        ${Le.filter(f=>!f.admin||e.role==="admin").map(f=>d`
          <a href=${`#/${f.path}`} class=${f.path===_?"active":""}>${f.title}</a>`)}
      </nav>
      <span class="who" data-testid="who" data-role=${e.role}>
        ${e.tokens?`${e.name||"token"} (${e.role})`:"no tokens: everyone is admin"}
        ${e.tokens&&d` <button class="button plain" onClick=${()=>{Pt(""),r(null),s(!0)}}>Sign out</button>`}
      </span>
    </header>
    <main>
      ${!u&&d`<h1 class="page-title">${p}</h1>`}
      <${Xe} route=${t} me=${e} />
    </main>`}Zt(d`<${Ze} />`,document.getElementById("app"));})();
